"""The one training loop every encoder shares, and batched encoding.

The data is moved to the device once and indexed with a seeded permutation per epoch: the
same batches as the seed's shuffled DataLoader, without a Python loader in the hot loop.
"""

import contextlib
import math
import signal
import threading
from typing import Callable

import numpy as np
import torch

from models import runtime
from models.base import Encoder, batches


def cuda_count() -> int:
    """CUDA devices here, counted through NVML where the driver offers it: unlike
    `torch.cuda.is_available()` this does not initialise CUDA in the process, so a worker forked
    from it (the multiprocessing backend) can still use them."""
    return torch.cuda.device_count()


def pick_device(index: int = 0) -> torch.device:
    """CUDA device `index` (modulo the count) when CUDA is present, else the CPU."""
    count = cuda_count()
    return torch.device("cuda", index % count) if count else torch.device("cpu")


@contextlib.contextmanager
def signals_held():
    """SIGINT and SIGTERM held back until the block ends, then raised again. Building the first
    optimizer makes torch import torch._dynamo (~2 s), and a stop signal whose handler raised
    inside that import was swallowed by its import-time error handling: the run went on to the
    end (1 in ~4 stops of an in-process run under load). Python runs signal handlers in the main
    thread only, so only there is anything held (blocking the signal in the kernel would not do:
    torch's own threads would take it)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived = []
    previous = {sig: signal.signal(sig, lambda signum, frame: arrived.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if arrived:
            signal.raise_signal(arrived[0])


def adam(params, **kwargs) -> torch.optim.Adam:
    """`torch.optim.Adam(params, **kwargs)`, built with stop signals held (`signals_held`): every
    optimizer of bench is made here, so none can be the one whose lazy import eats a Ctrl-C."""
    with signals_held():
        # foreach: each step's arithmetic for all parameters in a few calls, where torch's CPU
        # default loops over them in Python: bitwise the same weights, a few per cent faster
        # (benchmarks/experiments/adam_foreach.py)
        return torch.optim.Adam(params, **{"foreach": True, **kwargs})


def learning_rate_factor(schedule: str, steps: int) -> Callable[[int], float]:
    """The factor of the learning rate at each batch of a training of `steps` batches: 1 for
    "constant"; for "cosine" a linear warm-up over the first tenth, then a cosine decay to 0
    (SimCLR's: on 9000 vehicles images, k-means ACC on its latents 0.804 -> 0.828, seed 0)."""
    if schedule == "constant":
        return lambda step: 1.0
    warm = max(1, steps // 10)
    return lambda step: min(1.0, (step + 1) / warm) * 0.5 * (1 + math.cos(math.pi * step / steps))


PATIENCE = 2  # epochs in a row without enough gain before a plateau stop


def plateaued(history: list[float], plateau: float) -> bool:
    """True when each of the last PATIENCE epochs lowered the best loss before it by less than
    the fraction `plateau` (an epoch that raised the loss gained nothing). The losses alone
    decide, so a seeded training stops at the same epoch every time."""
    if plateau <= 0 or len(history) <= PATIENCE:
        return False
    return all(history[i] > (1 - plateau) * min(history[:i]) for i in range(len(history) - PATIENCE, len(history)))


def train(model: Encoder, x: torch.Tensor, *, seed: int,
          on_epoch: Callable[[int, float, bool], None] | None = None) -> list[float]:
    """Train `model` on `x` (already on the model's device). Returns the mean loss per epoch:
    `model.planned_epochs(len(x))` of them (`model.epochs`, more where `model.min_steps` asks for
    it), or fewer after a plateau stop. `on_epoch(epoch, loss, last)` after each."""
    if model.epochs == 0 or not any(p.requires_grad for p in model.parameters()):
        return []
    optimizer = adam(model.parameters(), lr=model.lr)
    epochs = model.planned_epochs(len(x))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, learning_rate_factor(model.schedule, epochs * batches(len(x), model.batch_size)))
    generator = torch.Generator().manual_seed(seed)  # batch order
    model.generator = torch.Generator(x.device).manual_seed(seed + 1)  # training noise
    history = []
    model.train()
    for epoch in range(epochs):
        model.begin_epoch(epoch, x)
        total = torch.zeros((), device=x.device)
        # the order drawn on the CPU (the same on every device), moved once an epoch
        for rows in torch.randperm(len(x), generator=generator).to(x.device).split(model.batch_size):
            batch = x[rows]
            loss = model.training_loss(batch, rows) if model.wants_rows else model.training_loss(batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.detach() * len(batch)
        history.append(float(total) / len(x))  # one host sync per epoch, not per batch
        stop = plateaued(history, model.plateau)
        if on_epoch:
            on_epoch(epoch, history[-1], stop or epoch == epochs - 1)
        if stop:
            break
    return history


@torch.no_grad()
def encode(model: Encoder, x: torch.Tensor) -> np.ndarray:
    """Latents of `x` as a float32 (N, D) array, in input order (a fixed pretrained network's
    through ONNX Runtime on the CPU: `models.runtime`)."""
    model.eval()
    fast = runtime.encode(model, x)
    if fast is not None:
        return fast
    parts = [model.encode(batch).reshape(len(batch), -1).cpu() for batch in x.split(model.encode_batch_size)]
    return torch.cat(parts).numpy().astype(np.float32, copy=False)


def fit_encoder(model: Encoder, images: np.ndarray, *, seed: int, device: torch.device,
                on_epoch: Callable[[int, float, bool], None] | None = None):
    """Train `model` on float32 NCHW `images`, then encode them: (latents, loss history)."""
    model = model.to(device)
    x = torch.from_numpy(images).to(device)
    if device.type == "cuda":  # the same seed, the same numbers on this GPU: no autotuned kernels
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    if device.type == "cpu" and x.ndim == 4:
        # NHWC convolutions on the CPU: measured 1.4x faster training (conv, SimCLR) and 1.7x
        # faster EfficientNet inference on one thread; only the rounding changes. CUDA keeps the
        # default layout (not measured there).
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    history = train(model, x, seed=seed, on_epoch=on_epoch)
    return encode(model, x), history
