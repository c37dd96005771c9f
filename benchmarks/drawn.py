"""Images drawn rather than photographed, for tasks unlike the photographs the pretrained
encoders learned from: digits typeset in the fonts matplotlib ships, and flat shapes on flat
backgrounds. Seeded, so the same pixels (and the same stage cache keys) every time with the same
matplotlib fonts and Pillow."""

from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont

FACES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSansMono.ttf",
         "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "STIXGeneral.ttf",
         "STIXGeneralBol.ttf", "cmr10.ttf", "cmss10.ttf", "cmtt10.ttf"]


def glyphs(n: int, seed: int = 0):
    """Grey 32x32 digits 0-9 (one cluster each) in one of twelve faces, 15-21 pixels high, turned
    up to 15 degrees and moved up to 3 pixels, with pixel noise."""
    fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 10
    x = np.empty((n, 32, 32), np.uint8)
    for i, digit in enumerate(y):
        font = ImageFont.truetype(str(fonts / FACES[rng.integers(len(FACES))]), int(rng.integers(30, 44)))
        im = Image.new("L", (64, 64))  # drawn at twice the size, then scaled down: smooth strokes
        ImageDraw.Draw(im).text((32, 32), str(digit), fill=255, font=font, anchor="mm")
        im = im.rotate(rng.uniform(-15, 15), resample=Image.BILINEAR, translate=tuple(rng.integers(-6, 7, 2)))
        a = np.asarray(im.resize((32, 32), Image.BILINEAR), float)
        x[i] = np.clip(a + rng.normal(0, 12, a.shape), 0, 255).astype(np.uint8)
    return x, y


def _star_or_polygon(corners: int, cx: float, cy: float, r: float, angle: float, star: bool):
    t = angle + np.arange(corners) * 2 * np.pi / corners
    radius = np.where(np.arange(corners) % 2, r * 0.45, r) if star else np.full(corners, r)
    return [(cx + q * np.cos(a), cy + q * np.sin(a)) for q, a in zip(radius, t)]


def shapes(n: int, seed: int = 0):
    """Colour 32x32 circles, squares, triangles and five-pointed stars (one cluster each) of a
    random colour, size, place and turn on a background of another random colour."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 4
    x = np.empty((n, 32, 32, 3), np.uint8)
    for i, kind in enumerate(y):
        back, fore = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        while np.abs(back - fore).sum() < 150:  # a shape that stands out from its background
            fore = rng.integers(0, 256, 3)
        im = Image.new("RGB", (128, 128), tuple(int(v) for v in back))  # drawn at 4x, averaged down
        r = rng.uniform(20, 44)
        cx, cy = rng.uniform(r, 128 - r, 2)
        draw, angle, colour = ImageDraw.Draw(im), rng.uniform(0, 2 * np.pi), tuple(int(v) for v in fore)
        if kind == 0:
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
        else:
            corners, star = {1: (4, False), 2: (3, False), 3: (10, True)}[kind]
            draw.polygon(_star_or_polygon(corners, cx, cy, r, angle, star), fill=colour)
        a = np.asarray(im.resize((32, 32), Image.BOX), float)
        x[i] = np.clip(a + rng.normal(0, 8, a.shape), 0, 255).astype(np.uint8)
    return x, y
