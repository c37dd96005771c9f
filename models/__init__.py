"""Encoder registry: autoencoder variants and feature encoders.

Every entry's factory takes `in_channels` (set from the data), optionally `image_size`
(height, width), and returns an `Encoder` (`models/base.py`; an `Autoencoder` also decodes);
`models/train.py` trains and runs it. Entries marked `pretrained` use weights learned elsewhere (ImageNet).
"""

import inspect
from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from bench.registry import Registry
from models.base import SCHEDULES, epochs_for

_COUNT, _AMOUNT = [Interval(Integral, 1, None, closed="left")], [Interval(Real, 0, None, closed="left")]
# every numeric parameter of every encoder (torch checks none of them: epochs = -1 trained
# nothing, silently); a test holds each factory to this table
MODELS = Registry("model", constraints={
    "epochs": [Interval(Integral, 0, None, closed="left")],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "temperature": [Interval(Real, 0, None, closed="neither")],
    "plateau": [Interval(Real, 0, 1, closed="both")],  # a fraction of the loss
    "min_steps": [Interval(Integral, 0, None, closed="left")],
    "schedule": [StrOptions(set(SCHEDULES))],
    "resolution": [Interval(Integral, 32, None, closed="left")],  # EfficientNet's five halvings
    "flip": ["boolean"],
    **dict.fromkeys(["batch_size", "width", "latent_channels", "latent_dim", "feature_dim", "bins",
                     "orientations", "cells", "neighbours"], _COUNT),
    **dict.fromkeys(["noise", "beta", "entropy_weight"], _AMOUNT),
    "n_clusters": [Interval(Integral, 2, None, closed="left")],
    **dict.fromkeys(["scan_epochs", "self_label_epochs"], [Interval(Integral, 0, None, closed="left")]),
    "threshold": [Interval(Real, 0, 1, closed="right")],  # a probability: 1 keeps only the certain
})


def create_encoder(name: str, *, in_channels: int, image_size=(32, 32), n_clusters: int | None = None, **params):
    """Build encoder `name` for images of `in_channels` x `image_size` (and the run's
    `n_clusters`, for an encoder that clusters)."""
    context = {"in_channels": in_channels}
    if MODELS.get(name).accepts("image_size"):
        context["image_size"] = tuple(image_size)
    if n_clusters is not None and takes_clusters(name):
        context["n_clusters"] = n_clusters
    return MODELS.create(name, **context, **params)


def takes_clusters(name: str) -> bool:
    """Whether encoder `name` is built for the run's cluster count (it clusters as it trains):
    its factory names `n_clusters` (a `**kwargs` factory is not sent it)."""
    return "n_clusters" in inspect.signature(MODELS.get(name).factory).parameters


def planned_epochs(name: str, params: dict, n_images: int | None = None) -> int:
    """The epochs encoder `name` will train with `params` on `n_images` (None: its `epochs`,
    before a `min_steps` floor adds any), without building it (0: untrained)."""
    entry = MODELS.get(name)
    if not entry.accepts("epochs"):
        return 0
    given = {p: params.get(p, entry.defaults.get(p, v.default))
             for p, v in inspect.signature(entry.factory).parameters.items()}
    if n_images is None:
        return given["epochs"]
    phased = getattr(entry.factory, "planned_epochs", None)  # an encoder trained in phases adds them up
    if phased is not None:
        return phased(given, n_images)
    return epochs_for(n_images, given["epochs"], given["batch_size"], given.get("min_steps", 0))


from models import (baseline, conv, dense, denoising, handcrafted, pixels,  # noqa: E402,F401
                    pretrained, scan, simclr, vae)  # modules register their entries
