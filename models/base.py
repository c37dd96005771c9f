"""The encoder contract: `Encoder.encode(x) -> latent`, optionally trained by `training_loss`;
`Autoencoder` adds `decode` and a reconstruction loss."""

import torch.nn.functional as F
from torch import nn

LOSSES = {"l1": F.l1_loss, "mse": F.mse_loss}
SCHEDULES = ("constant", "cosine")


def batches(n_images: int, batch_size: int) -> int:
    """Batches in one epoch over `n_images` (the last one may be short)."""
    return -(-n_images // batch_size)


def epochs_for(n_images: int, epochs: int, batch_size: int, min_steps: int = 0) -> int:
    """`epochs`, or more where `n_images` in batches of `batch_size` need more for `min_steps`."""
    return max(epochs, -(-min_steps // batches(n_images, batch_size))) if epochs else 0


class Encoder(nn.Module):
    """Base for every encoder: `encode(x)` maps a batch of images (N, C, H, W) in [-1, 1] to
    latents (N, ...), flattened per image when the run keeps them.

    `epochs = 0` means nothing to train (pixels, hand-crafted or pretrained features); a
    trainable encoder sets `epochs` and implements `training_loss`. `plateau > 0`: `epochs` is
    a cap, and training stops earlier once the loss has stopped falling by that fraction
    (`models.train.plateaued`). `min_steps > 0`: more epochs than `epochs` where the data is
    too small for that many batches (`epochs_for`). `schedule`: the learning rate per batch,
    "constant" or "cosine" (linear warm-up over the first tenth of the batches, then cosine
    decay to zero). `input_multiple`: height and width must be multiples of it.
    """

    input_multiple = 1
    reconstructs = False  # True: `decode` maps latents back to images (the report shows them)
    # the training loop's seeded generator: variants draw training noise from it, never from
    # torch's global RNG, which concurrent trainings in threads would share
    generator = None
    encode_batch_size = 1024  # images per inference batch; large models lower it to bound memory
    # True for fixed weights: inferred through ONNX Runtime on the CPU (`models.runtime`), the
    # exported file named by `export_key()`, a tuple of what decides the network
    exportable = False
    # True: `training_loss(x, rows)` is also told which images of the training set the batch
    # holds (an encoder that pairs an image with others, e.g. its nearest neighbours)
    wants_rows = False

    def __init__(self, *, epochs: int = 0, lr: float = 1e-3, batch_size: int = 32, plateau: float = 0.0,
                 min_steps: int = 0, schedule: str = "constant"):
        super().__init__()
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {list(SCHEDULES)}, not {schedule!r}")
        self.epochs, self.lr, self.batch_size = epochs, lr, batch_size
        self.plateau, self.min_steps, self.schedule = plateau, min_steps, schedule

    def encode(self, x):
        raise NotImplementedError(f"{type(self).__name__} does not implement encode")

    def forward(self, x):
        return self.encode(x)

    def training_loss(self, x):
        """The loss of one training batch (trainable encoders only)."""
        raise NotImplementedError(f"{type(self).__name__} trains (epochs > 0) but has no training_loss")

    def planned_epochs(self, n_images: int) -> int:
        """Epochs of training on `n_images` (an encoder trained in phases adds them up)."""
        return epochs_for(n_images, self.epochs, self.batch_size, self.min_steps)

    def begin_epoch(self, epoch: int, x) -> None:
        """Called before each epoch with the whole training set (a phase may start here)."""


class Autoencoder(Encoder):
    """An encoder with a decoder, trained to reconstruct its input by `loss` ("l1" or "mse").
    Variants that train differently (noise, sampling) override `training_loss`."""

    reconstructs = True

    def __init__(self, *, loss: str = "l1", epochs: int = 20, **train_args):
        super().__init__(epochs=epochs, **train_args)
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {sorted(LOSSES)}, not {loss!r}")
        self.loss = loss

    def decode(self, latent):
        raise NotImplementedError(f"{type(self).__name__} does not implement decode")

    def loss_fn(self, x, latent, reconstruction):
        return LOSSES[self.loss](reconstruction, x)

    def training_loss(self, x):
        latent = self.encode(x)
        return self.loss_fn(x, latent, self.decode(latent))
