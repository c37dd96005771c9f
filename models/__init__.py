"""Encoder registry: autoencoder variants and feature encoders.

Every entry's factory takes `in_channels` (set from the data) and returns an `Autoencoder`
(see `models/base.py`); `models/train.py` trains and runs it.
"""

from bench.registry import Registry

MODELS = Registry("model")

from models import baseline, pixels  # noqa: E402,F401  (modules register their entries)
