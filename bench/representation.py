"""Is a representation semantic? Label-free scores of each encoder's output, the first question
of two-level selection (docs/ranking.md); each is computed on a seeded sample of
at most SAMPLE images, so its cost is bounded at any N.

- `halves`: does the representation link two parts of an image that share no pixel? Each image
  is cut into two halves (left/right or top/bottom), each stretched back to full size and lit
  anew (uneven lighting, gamma); the score is how often an image's first half finds its second
  half among the 10 nearest of all second halves, in the encoder's standardised output, both
  ways (chance: 10/500). Pixels, brightness and layout do not carry across the cut, what the
  image shows does; no encoder entry trains on such pairs (`bench.views`).
- `augmentation`: how often an augmented view of an image (SimCLR's augmentations: crop, flip,
  colour jitter, grey) finds that image as its nearest neighbour among the originals. Biased:
  `simclr` is trained to win it (`bench.views.biased`), so no default rule uses it.
- `rankme`: RankMe (Garrido et al. 2023), the effective rank of the output: exp of the entropy
  of its normalised singular values.
- `knn_agreement`: the mean overlap (Jaccard) of each image's 10 nearest neighbours under this
  encoder with those under each other encoder of the run.
"""

import numpy as np
import torch

from bench import views

SAMPLE = 500
NEIGHBOURS = 10
SCORES = (*views.SCORE_VIEWS, "rankme", "knn_agreement")
PARTNERS = 10  # `halves`: a half counts as found among its 10 nearest (top-1 of 500 is too noisy)


def _standardised(latent: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    reference = latent if reference is None else reference
    mean, std = reference.mean(axis=0), reference.std(axis=0)
    keep = std > 1e-8 * max(float(std.max()), 1e-30)
    return ((latent[:, keep] - mean[keep]) / std[keep]).astype(np.float32)


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a ** 2).sum(1)[:, None] + (b ** 2).sum(1)[None] - 2 * a @ b.T


def partner_retrieval(first: np.ndarray, second: np.ndarray, k: int = PARTNERS) -> float:
    """Fraction of rows of `first` whose own row of `second` is among their k nearest rows of
    `second`, and the other way round, averaged (each side standardised by the other's statistics)."""
    found = []
    for query, gallery in ((first, second), (second, first)):
        a, b = _standardised(gallery), _standardised(query, gallery)
        distances = _squared_distances(b, a)
        own = distances[np.arange(len(a)), np.arange(len(a))]
        found.append(np.mean((distances < own[:, None]).sum(axis=1) < k))
    return float(np.mean(found))


def retrieval(original: np.ndarray, view: np.ndarray) -> float:
    """Fraction of views whose nearest original (standardised by the originals) is their own."""
    a, b = _standardised(original), _standardised(view, original)
    return float(np.mean(_squared_distances(b, a).argmin(axis=1) == np.arange(len(a))))


def rankme(latent: np.ndarray) -> float:
    singular = np.linalg.svd(latent - latent.mean(axis=0), compute_uv=False)
    p = singular / max(singular.sum(), 1e-12) + 1e-7
    return float(np.exp(-(p * np.log(p)).sum()))


def neighbours(latent: np.ndarray, k: int = NEIGHBOURS) -> np.ndarray:
    x = _standardised(latent)
    distances = _squared_distances(x, x)
    np.fill_diagonal(distances, np.inf)
    return np.argsort(distances, axis=1, kind="stable")[:, :k]


def knn_agreement(latents: list[np.ndarray], k: int = NEIGHBOURS) -> np.ndarray:
    """For each latent, the mean Jaccard overlap of its k-NN sets with each other latent's."""
    sets = [neighbours(z, k) for z in latents]
    n = len(latents[0])
    out = np.full(len(latents), np.nan)
    if len(latents) < 2:
        return out
    member = [np.zeros((n, n), bool) for _ in sets]
    for m, s in zip(member, sets):
        m[np.arange(n)[:, None], s] = True
    for i in range(len(sets)):
        overlaps = [(member[i] & member[j]).sum(1) / (member[i] | member[j]).sum(1)
                    for j in range(len(sets)) if j != i]
        out[i] = float(np.mean(overlaps))
    return out


def augmented(images: np.ndarray, seed: int) -> np.ndarray:
    """One seeded augmented view of each image (float32 NCHW in [-1, 1])."""
    from models.simclr import augment
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        return augment(torch.from_numpy(images), generator).numpy()


def encoder_scores(models: list, images: np.ndarray, latents: list[np.ndarray], *, seed: int = 0,
                   sample: int = SAMPLE) -> list[dict]:
    """The scores of each encoder: `models[i]` (a built, trained `Encoder`, or None when it
    cannot be rebuilt) produced `latents[i]` from `images`."""
    from models.train import encode
    rows = np.sort(np.random.default_rng(seed).permutation(len(images))[:sample])
    view = torch.from_numpy(augmented(images[rows], seed))
    first, second = (torch.from_numpy(half) for half in views.halves(images[rows], seed))
    picked = [z[rows] for z in latents]
    agree = knn_agreement(picked)
    out = []
    for model, z, knn in zip(models, picked, agree):
        scores = {"rankme": rankme(z), "knn_agreement": knn, "halves": np.nan, "augmentation": np.nan}
        if model is not None:
            scores["halves"] = partner_retrieval(*(encode(model, part).reshape(len(rows), -1)
                                                   for part in (first, second)))
            scores["augmentation"] = retrieval(z, encode(model, view))
        out.append(scores)
    return out


def of_run(outcomes: list, images: np.ndarray, cache, *, seed: int = 0) -> dict:
    """{encoder label: its scores} for the encoders of a run that worked."""
    encoders = {}
    for o in outcomes:
        key = o.ok_key("encode")
        if key is not None:
            encoders.setdefault(o.combo.encoder, key)
    return remembered(encoders, images, cache, seed=seed)


def remembered(encoders: dict, images: np.ndarray, cache, *, seed: int = 0) -> dict:
    """`of_encoders`, kept in the cache under the keys of the encoders it read (and this code),
    so a warm rerun recomputes nothing."""
    import models.simclr
    from bench.cache import code_version, make_key
    key = make_key(stage="represent", seed=seed, code=code_version(encoder_scores, views, models.simclr),
                   encoders=sorted(encoders.values()))
    return cache.remember("represent", key, lambda: of_encoders(encoders, images, cache, seed=seed))


def of_encoders(encoders: dict, images: np.ndarray, cache, *, seed: int = 0) -> dict:
    """{encoder label: its scores} for `encoders` ({spec: its cache key in the encode stage}),
    each rebuilt from the cache (trained weights included) to encode the views."""
    from models import create_encoder, runtime
    runtime.use_folder(cache.root / "onnx")
    specs, models, latents = list(encoders), [], []
    for spec in specs:
        arrays, meta = cache.load("encode", encoders[spec])
        latents.append(arrays["x"])
        try:
            model = create_encoder(spec.name, in_channels=images.shape[1], image_size=images.shape[2:],
                                   n_clusters=meta.get("n_clusters"), **spec.kwargs)
            state = {k.removeprefix("state."): torch.from_numpy(v) for k, v in arrays.items()
                     if k.startswith("state.")}
            if state:
                model.load_state_dict(state)
            models.append(model)
        except Exception:  # an entry that cannot be rebuilt here: its other scores still count
            models.append(None)
    if not specs:
        return {}
    with torch.random.fork_rng(devices=[]):
        scores = encoder_scores(models, images, latents, seed=seed)
    return {spec.label: s for spec, s in zip(specs, scores)}
