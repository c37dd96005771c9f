"""Inference of the fixed pretrained networks through ONNX Runtime on the CPU: it runs them
about 2.5x faster than PyTorch eager, with the same features to ~1e-6 (docs/performance.md:
ONNX Runtime). Training, and any CUDA device, stay with torch.

A network is exported once per variant and input size into `folder` (the stage cache's `onnx/`
when bench runs it), so later runs and other workers load the file instead of exporting again.
Without onnxruntime the features come from PyTorch, with one warning saying so.
"""

import contextlib
import hashlib
import io
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

MISSING = ("onnxruntime is not installed: the pretrained encoders run on PyTorch, about 2.5x "
           "slower on the CPU (pip install -e '.[pretrained]')")
folder: Path | None = None  # where exported networks are kept; None: a temporary folder
_sessions: dict = {}  # exported file -> its inference session, once per process


def use_folder(path) -> None:
    global folder
    folder = Path(path)


def available() -> bool:
    try:
        import onnx  # noqa: F401  torch's exporter writes through it
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class _Encode(torch.nn.Module):
    """`model.encode` as a module's forward, which is what the exporter traces."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model.encode(x)


def _export(model, path: Path, channels: int) -> None:
    """Trace `model.encode` (in eval mode, as it runs) to `path`, whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    example = torch.zeros(2, channels, 32, 32)
    buffer = io.BytesIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # the tracer's notes on constant shapes
        torch.onnx.export(_Encode(model).eval(), (example,), buffer, dynamo=False, input_names=["x"],
                          output_names=["z"], dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}}, opset_version=17)
    model.eval()  # the exporter restores the wrapper's training mode, down to the model
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")  # swept if torn
    with os.fdopen(handle, "wb") as f:
        f.write(buffer.getvalue())
    os.chmod(tmp, 0o644)  # mkstemp's is private; other runs and workers read it
    os.replace(tmp, path)


def _session(model, channels: int):
    import onnxruntime as ort
    from bench.cache import code_version
    key = hashlib.sha256(repr((model.export_key(), channels, code_version(type(model)), torch.__version__,
                               ort.__version__)).encode()).hexdigest()[:24]
    path = (folder or Path(tempfile.gettempdir()) / "bench-onnx") / f"{type(model).__name__}-{key}.onnx"
    if (path, torch.get_num_threads()) not in _sessions:
        if not path.exists():
            _export(model, path, channels)
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()  # as the stage's torch: one per job
        options.inter_op_num_threads = 1
        _sessions[path, torch.get_num_threads()] = ort.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"])
    return _sessions[path, torch.get_num_threads()]


def encode(model, x: torch.Tensor) -> np.ndarray | None:
    """`model`'s latents of `x` through ONNX Runtime, or None where torch should compute them
    (a trainable or unexported encoder, a CUDA tensor, or no runtime: warned once)."""
    if not getattr(model, "exportable", False) or x.device.type != "cpu":
        return None
    if not available():
        warnings.warn(MISSING, RuntimeWarning)
        return None
    session = _session(model, x.shape[1])
    parts = [session.run(None, {"x": np.ascontiguousarray(batch.numpy(), dtype=np.float32)})[0]
             for batch in x.split(model.encode_batch_size)]
    return np.concatenate(parts).reshape(len(x), -1).astype(np.float32, copy=False)
