"""The encoder contract: `forward(x) -> (latent, reconstruction)`, a named loss, training defaults."""

import torch.nn.functional as F
from torch import nn

LOSSES = {"l1": F.l1_loss, "mse": F.mse_loss}


class Autoencoder(nn.Module):
    """Base for every encoder. Subclasses build layers and implement `forward`.

    `input_multiple`: height and width must be multiples of it (stride-2 layers that the decoder
    must undo exactly). `epochs = 0` means nothing to train (a fixed feature encoder).
    `plateau > 0`: `epochs` is a cap, and training stops earlier once the loss has stopped
    falling by that fraction (`models.train.plateaued`).
    """

    input_multiple = 1
    # the training loop's seeded generator: variants draw training noise from it, never from
    # torch's global RNG, which concurrent trainings in threads would share
    generator = None
    encode_batch_size = 1024  # images per inference batch; large models lower it to bound memory

    def __init__(self, *, loss: str = "l1", epochs: int = 20, lr: float = 1e-3,
                 batch_size: int = 32, plateau: float = 0.0):
        super().__init__()
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {sorted(LOSSES)}, not {loss!r}")
        self.loss, self.epochs, self.lr, self.batch_size = loss, epochs, lr, batch_size
        self.plateau = plateau

    def loss_fn(self, x, latent, reconstruction):
        return LOSSES[self.loss](reconstruction, x)

    def training_loss(self, x):
        """The loss of one training batch. Variants that train differently (noise, sampling,
        contrastive views) override this, not the shared loop."""
        latent, reconstruction = self(x)
        return self.loss_fn(x, latent, reconstruction)
