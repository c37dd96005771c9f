"""The seed tutorial's autoencoder, reproduced exactly.

Encoder Conv2d(C,8,3,2,1) -> Conv2d(8,16,3,2,1): (C,32,32) -> (16,8,8); decoder
ConvTranspose2d(16,8,2,2) -> ConvTranspose2d(8,C,2,2) -> tanh. No nonlinearity between layers,
as in the tutorial. L1 loss, Adam lr 1e-3, batch 32, 20 epochs.
"""

from torch import nn

from models import MODELS
from models.base import Autoencoder


class Baseline(Autoencoder):
    input_multiple = 4

    def __init__(self, in_channels: int = 3, **train_args):
        super().__init__(**train_args)
        self.encoder = nn.Sequential(
            nn.Conv2d(in_channels, 8, 3, 2, 1),
            nn.Conv2d(8, 16, 3, 2, 1),
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(16, 8, 2, 2),
            nn.ConvTranspose2d(8, in_channels, 2, 2),
            nn.Tanh(),
        )

    def encode(self, x):
        return self.encoder(x)

    def decode(self, latent):
        return self.decoder(latent)


@MODELS.register("baseline", cost=25)
def baseline(in_channels: int = 3, loss: str = "l1", epochs: int = 20, lr: float = 1e-3,
             batch_size: int = 32, plateau: float = 0.0) -> Baseline:
    """Seed tutorial conv AE (2 conv / 2 deconv, latent 16x(H/4)x(W/4)), L1, 20 epochs."""
    return Baseline(in_channels, loss=loss, epochs=epochs, lr=lr, batch_size=batch_size,
                    plateau=plateau)
