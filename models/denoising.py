"""A denoising autoencoder: the deeper conv AE, trained to restore images from noisy copies."""

import torch

from models import MODELS
from models.conv import ConvAE


class DenoisingAE(ConvAE):
    def __init__(self, in_channels: int = 3, noise: float = 0.2, **kwargs):
        super().__init__(in_channels, **kwargs)
        self.noise = noise

    def training_loss(self, x):
        noise = torch.randn(x.shape, generator=self.generator, device=x.device)
        noisy = (x + self.noise * noise).clamp(-1, 1)
        latent = self.encode(noisy)
        return self.loss_fn(x, latent, self.decode(latent))  # compared with the clean images


@MODELS.register("denoise", cost=60)
def denoise(in_channels: int = 3, noise: float = 0.2, loss: str = "mse", epochs: int = 15,
            lr: float = 1e-3, batch_size: int = 64, plateau: float = 0.02) -> DenoisingAE:
    """Denoising conv AE (Gaussian noise 0.2 on inputs), MSE to the clean image, up to 15 epochs."""
    return DenoisingAE(in_channels, noise, loss=loss, epochs=epochs, lr=lr, batch_size=batch_size,
                       plateau=plateau)
