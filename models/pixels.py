"""The images themselves as features: nothing to train, a reference every encoder must beat."""

from models import MODELS
from models.base import Encoder


class Pixels(Encoder):
    def encode(self, x):
        return x


@MODELS.register("pixels", cost=0.1, seeded=False)
def pixels(in_channels: int = 3) -> Pixels:
    """Raw pixels in [-1, 1], flattened (no training)."""
    return Pixels()
