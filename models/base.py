"""The encoder contract: `forward(x) -> (latent, reconstruction)`, a named loss, training defaults."""

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


class Autoencoder(nn.Module):
    """Base for every encoder. Subclasses build layers and implement `forward`.

    `input_multiple`: height and width must be multiples of it (stride-2 layers that the decoder
    must undo exactly). `epochs = 0` means nothing to train (a fixed feature encoder).
    `plateau > 0`: `epochs` is a cap, and training stops earlier once the loss has stopped
    falling by that fraction (`models.train.plateaued`).
    `min_steps > 0`: more epochs than `epochs` where the data is too small for that many
    batches (`epochs_for`). `schedule`: the learning rate per batch, "constant" or "cosine"
    (linear warm-up over the first tenth of the batches, then cosine decay to zero).
    """

    input_multiple = 1
    # the training loop's seeded generator: variants draw training noise from it, never from
    # torch's global RNG, which concurrent trainings in threads would share
    generator = None
    encode_batch_size = 1024  # images per inference batch; large models lower it to bound memory

    def __init__(self, *, loss: str = "l1", epochs: int = 20, lr: float = 1e-3,
                 batch_size: int = 32, plateau: float = 0.0, min_steps: int = 0, schedule: str = "constant"):
        super().__init__()
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {sorted(LOSSES)}, not {loss!r}")
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {list(SCHEDULES)}, not {schedule!r}")
        self.loss, self.epochs, self.lr, self.batch_size = loss, epochs, lr, batch_size
        self.plateau, self.min_steps, self.schedule = plateau, min_steps, schedule

    def loss_fn(self, x, latent, reconstruction):
        return LOSSES[self.loss](reconstruction, x)

    def training_loss(self, x):
        """The loss of one training batch. Variants that train differently (noise, sampling,
        contrastive views) override this, not the shared loop."""
        latent, reconstruction = self(x)
        return self.loss_fn(x, latent, reconstruction)
