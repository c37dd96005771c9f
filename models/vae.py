"""A convolutional VAE. The latent handed on is the mean mu; training samples z = mu + sigma*eps
and adds the KL divergence to a standard normal (weighted by `beta`, per pixel like the
reconstruction term, so the two stay on one scale)."""

import torch

from models import MODELS
from models.dense import DenseAE


class ConvVAE(DenseAE):
    def __init__(self, in_channels: int = 3, image_size=(32, 32), latent_dim: int = 128,
                 width: int = 32, beta: float = 1.0, **train_args):
        super().__init__(in_channels, image_size, 2 * latent_dim, width, **train_args)
        self.latent_dim, self.beta = latent_dim, beta
        self.expand[0] = torch.nn.Linear(latent_dim, self.expand[0].out_features)

    def encode(self, x):
        return self.encoder(x)[:, :self.latent_dim]  # mu: the latent handed on

    def training_loss(self, x):
        mu, log_var = self.encoder(x).split(self.latent_dim, dim=1)
        z = mu + torch.randn(mu.shape, generator=self.generator, device=mu.device) * (0.5 * log_var).exp()
        reconstruction = self.decode(z)
        kl = -0.5 * (1 + log_var - mu.pow(2) - log_var.exp()).sum(dim=1).mean()
        return self.loss_fn(x, z, reconstruction) + self.beta * kl / x[0].numel()


@MODELS.register("vae", cost=80)
def vae(in_channels: int = 3, image_size=(32, 32), latent_dim: int = 128, width: int = 32,
        beta: float = 1.0, loss: str = "mse", epochs: int = 20, lr: float = 1e-3,
        batch_size: int = 64, plateau: float = 0.01) -> ConvVAE:
    """Conv VAE, latent = mu (128); MSE + KL, up to 20 epochs."""
    return ConvVAE(in_channels, image_size, latent_dim, width, beta, loss=loss, epochs=epochs,
                   lr=lr, batch_size=batch_size, plateau=plateau)
