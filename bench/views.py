"""The transformations behind the encoder scores, and those each encoder entry trains with,
declared side by side: a score whose views use a transformation that an encoder is trained to be
invariant to measures that encoder's training objective, not whether its representation is about
what the images show (`biased`; a test holds the default ranking rule to it).

Names are families, not exact recipes: `crop` is any random crop or zoom that keeps part of the
image (so two crops of one image share pixels), `colour` any brightness, contrast or saturation
jitter, `split` cutting an image into two halves that share no pixel.
"""

import numpy as np
import torch
import torch.nn.functional as F

# what each encoder entry is trained to be invariant to (every registered encoder is named here,
# a test holds it; a new entry declares its own)
TRAINED_WITH = {
    "baseline": frozenset(), "conv": frozenset(), "dense": frozenset(), "vae": frozenset(),
    "pixels": frozenset(), "handcrafted": frozenset(),
    "denoise": frozenset({"noise"}),  # restores images from Gaussian noise
    "simclr": frozenset({"crop", "flip", "colour", "grey"}),  # models.simclr.augment
    "simclr-scan": frozenset({"crop", "flip", "colour", "grey", "cutout"}),  # models.scan.strong_augment
    # ImageNet classifiers: the Lite checkpoints' recipe is not published with their weights, so
    # take the usual one with AutoAugment's operations, the widest it could have been
    **dict.fromkeys(["effnet", "effnet2", "effnets"], frozenset({
        "crop", "flip", "colour", "rotate", "shear", "translate", "cutout", "sharpness",
        "posterize", "solarize", "equalize", "invert"})),
}

# the transformations that make each encoder score's views
SCORE_VIEWS = {
    "halves": frozenset({"split", "shade", "gamma"}),
    "augmentation": frozenset({"crop", "flip", "colour", "grey"}),  # SimCLR's own: biased
}


def biased(score: str) -> dict[str, frozenset]:
    """{encoder: the transformations of `score`'s views it was trained with}, for every encoder
    that has any: an empty answer means no entry is trained to win `score`."""
    views = SCORE_VIEWS[score]
    return {name: views & trained for name, trained in TRAINED_WITH.items() if views & trained}


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return torch.empty(n).uniform_(low, high, generator=generator)


def split(x: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Each image cut into two halves, left and right or top and bottom at random, each
    stretched back to the full size: two views of one image that share no pixel."""
    n, _, h, w = x.shape
    across = (torch.rand(n, generator=g) < 0.5)[:, None, None, None]

    def stretched(part):
        return F.interpolate(part, size=(h, w), mode="bilinear", align_corners=False)
    first = torch.where(across, stretched(x[..., : w // 2]), stretched(x[:, :, : h // 2]))
    second = torch.where(across, stretched(x[..., w // 2:]), stretched(x[:, :, h // 2:]))
    return first, second


def shade(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Uneven lighting: a linear ramp in a random direction, rising by up to 0.3-0.6 (of the
    [-1, 1] range) from the centre to the far corner, added to the image."""
    n, _, h, w = x.shape
    angle, amplitude = _uniform(n, 0, 2 * np.pi, g), _uniform(n, 0.3, 0.6, g)
    rows, cols = torch.linspace(-1, 1, h)[:, None], torch.linspace(-1, 1, w)[None]
    ramp = (angle.cos()[:, None, None] * rows + angle.sin()[:, None, None] * cols) / np.sqrt(2)
    return (x + amplitude[:, None, None, None] * ramp[:, None]).clamp(-1, 1)


def gamma(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """A gamma curve per image, exponent log-uniform in [1/1.6, 1.6]: a non-linear change of
    lighting, which affine brightness and contrast jitter do not make."""
    exponent = torch.exp(_uniform(len(x), -np.log(1.6), np.log(1.6), g))[:, None, None, None]
    return ((x + 1) / 2).clamp(0, 1).pow(exponent) * 2 - 1


LIGHTING = {"shade": shade, "gamma": gamma}


def halves(images: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The two seeded, separately lit halves of each image (float32 NCHW in [-1, 1])."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        parts = split(torch.from_numpy(images), generator)
        for transform in LIGHTING.values():
            parts = tuple(transform(p, generator) for p in parts)
    return tuple(np.ascontiguousarray(p.numpy(), dtype=np.float32) for p in parts)
