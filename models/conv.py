"""A deeper conv autoencoder: three conv layers with BatchNorm and ReLU, latent 32x(H/4)x(W/4)."""

from torch import nn

from models import MODELS
from models.base import Autoencoder


def conv_block(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride, 1), nn.BatchNorm2d(c_out), nn.ReLU()]


def deconv_block(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.ConvTranspose2d(c_in, c_out, 2, 2), nn.BatchNorm2d(c_out), nn.ReLU()]


class ConvAE(Autoencoder):
    input_multiple = 4

    def __init__(self, in_channels: int = 3, width: int = 32, latent_channels: int = 32, **train_args):
        super().__init__(**train_args)
        self.encoder = nn.Sequential(*conv_block(in_channels, width), *conv_block(width, 2 * width, 2),
                                     *conv_block(2 * width, latent_channels, 2))
        self.decoder = nn.Sequential(*deconv_block(latent_channels, 2 * width), *deconv_block(2 * width, width),
                                     nn.Conv2d(width, in_channels, 3, 1, 1), nn.Tanh())

    def encode(self, x):
        return self.encoder(x)

    def decode(self, latent):
        return self.decoder(latent)


@MODELS.register("conv", cost=60)
def conv(in_channels: int = 3, width: int = 32, latent_channels: int = 32, loss: str = "mse",
         epochs: int = 15, lr: float = 1e-3, batch_size: int = 64, plateau: float = 0.02) -> ConvAE:
    """Deeper conv AE, BatchNorm + ReLU, latent 32x(H/4)x(W/4); MSE, up to 15 epochs (plateau 2 %)."""
    return ConvAE(in_channels, width, latent_channels, loss=loss, epochs=epochs, lr=lr,
                  batch_size=batch_size, plateau=plateau)
