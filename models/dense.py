"""A conv autoencoder with a dense bottleneck: conv features squeezed through a small vector."""

from torch import nn

from models import MODELS
from models.base import Autoencoder
from models.conv import conv_block, deconv_block


class DenseAE(Autoencoder):
    input_multiple = 4

    def __init__(self, in_channels: int = 3, image_size=(32, 32), latent_dim: int = 128,
                 width: int = 32, **train_args):
        super().__init__(**train_args)
        h, w = image_size[0] // 4, image_size[1] // 4
        self.shape = (2 * width, h, w)
        flat = 2 * width * h * w
        self.encoder = nn.Sequential(*conv_block(in_channels, width, 2), *conv_block(width, 2 * width, 2),
                                     nn.Flatten(), nn.Linear(flat, latent_dim))
        self.expand = nn.Sequential(nn.Linear(latent_dim, flat), nn.ReLU())
        self.decoder = nn.Sequential(*deconv_block(2 * width, width),
                                     nn.ConvTranspose2d(width, in_channels, 2, 2), nn.Tanh())

    def encode(self, x):
        return self.encoder(x)

    def decode(self, latent):
        return self.decoder(self.expand(latent).view(-1, *self.shape))


@MODELS.register("dense", cost=60)
def dense(in_channels: int = 3, image_size=(32, 32), latent_dim: int = 128, width: int = 32,
          loss: str = "mse", epochs: int = 15, lr: float = 1e-3, batch_size: int = 64,
          plateau: float = 0.02) -> DenseAE:
    """Conv AE with a dense bottleneck of 128; MSE, up to 15 epochs."""
    return DenseAE(in_channels, image_size, latent_dim, width, loss=loss, epochs=epochs, lr=lr,
                   batch_size=batch_size, plateau=plateau)
