"""Pictures of a run (PNG, matplotlib): what is in each cluster, where the images lie, how the
encoders trained, which combos agree, how the leaderboard scores spread."""

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from bench.scoring import pairwise_nmi  # noqa: E402

MAP_SAMPLE = 2000  # points on the 2-D map: enough to see structure, seconds to embed
MOSAIC = 8  # thumbnails per side of a cluster mosaic


def _to_rgb(images: np.ndarray) -> np.ndarray:
    """float NCHW in [-1, 1] -> uint8 NHWC with 3 channels."""
    rgb = np.clip((images.transpose(0, 2, 3, 1) + 1) * 127.5, 0, 255).astype(np.uint8)
    return np.repeat(rgb, 3, axis=3) if rgb.shape[3] == 1 else rgb


def _tile(images: np.ndarray, columns: int) -> np.ndarray:
    """uint8 NHWC -> one image of `columns` thumbnails per row (blank cells stay grey)."""
    n, h, w, _ = images.shape
    rows = max(1, -(-n // columns))
    sheet = np.full((rows * (h + 1) + 1, columns * (w + 1) + 1, 3), 128, np.uint8)
    for i, im in enumerate(images):
        r, c = divmod(i, columns)
        sheet[1 + r * (h + 1):1 + r * (h + 1) + h, 1 + c * (w + 1):1 + c * (w + 1) + w] = im
    return sheet


def _save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def cluster_mosaics(folder: Path, images: np.ndarray, labels: np.ndarray, seed: int) -> list[Path]:
    """One PNG per final cluster: a seeded sample of its images."""
    rng = np.random.default_rng(seed)
    paths = []
    for cluster in np.unique(labels[labels >= 0]):
        members = np.flatnonzero(labels == cluster)
        pick = np.sort(rng.choice(members, min(len(members), MOSAIC * MOSAIC), replace=False))
        sheet = _tile(_to_rgb(images[pick]), MOSAIC)
        fig, ax = plt.subplots(figsize=(4, 4 * sheet.shape[0] / sheet.shape[1] + 0.4))
        ax.imshow(sheet, interpolation="nearest")
        ax.set_title(f"cluster {cluster}: {len(members)} images ({len(members) / len(labels):.0%})")
        ax.axis("off")
        paths.append(_save(fig, folder / f"cluster_{cluster}.png"))
    return paths


def embedding_map(folder: Path, embedding: np.ndarray, labels: np.ndarray, truth, seed: int,
                  title: str) -> Path:
    """The best combo's embedding in 2-D (t-SNE of a seeded sample when it has more dims),
    coloured by the ensemble's labels and, when known, by the ground truth."""
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(embedding), min(len(embedding), MAP_SAMPLE), replace=False))
    points = embedding[pick]
    if points.shape[1] > 2:
        from sklearn.manifold import TSNE
        perplexity = min(30.0, (len(points) - 1) / 3)
        # 500 iterations, not 1000: as faithful a map (same trustworthiness) in half the time
        points = TSNE(2, init="pca", perplexity=perplexity, max_iter=500, random_state=seed).fit_transform(points)
    panels = [("ensemble labels", labels[pick])] + ([("ground truth", truth[pick])] if truth is not None else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.6), squeeze=False)
    for ax, (name, colour) in zip(axes[0], panels):
        ax.scatter(points[:, 0], points[:, 1], c=colour, s=4, cmap="tab10", alpha=0.8)
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{title} ({len(pick)} of {len(embedding)} images)", fontsize=10)
    return _save(fig, folder / "map.png")


def encoder_panel(folder: Path, label: str, originals: np.ndarray, reconstructions: np.ndarray | None,
                  history: list[float]) -> Path:
    """Originals above reconstructions, and the training loss per epoch."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3), gridspec_kw={"width_ratios": [2, 1]})
    if reconstructions is None:  # an encoder without a decoder (contrastive): originals only
        left.imshow(_tile(_to_rgb(originals), len(originals)), interpolation="nearest")
        left.set_title(f"{label}: no decoder, nothing to reconstruct", fontsize=9)
    else:
        left.imshow(np.concatenate([_tile(_to_rgb(originals), len(originals)),
                                    _tile(_to_rgb(reconstructions), len(originals))]),
                    interpolation="nearest")
        left.set_title(f"{label}: originals (top), reconstructions (bottom)", fontsize=9)
    left.axis("off")
    right.plot(range(1, len(history) + 1), history, marker=".")
    right.set_xlabel("epoch")
    right.set_ylabel("training loss")
    right.grid(alpha=0.3)
    return _save(fig, folder / f"encoder_{safe_name(label)}.png")


def agreement_heatmap(folder: Path, names: list[str], label_sets: list[np.ndarray]) -> Path:
    """Pairwise NMI between the top combos."""
    m = len(label_sets)
    nmi = pairwise_nmi(label_sets)
    fig, ax = plt.subplots(figsize=(2 + 0.5 * m, 1.5 + 0.5 * m))
    shown = ax.imshow(nmi, vmin=0, vmax=1, cmap="viridis")
    ax.set_xticks(range(m), [f"#{i + 1}" for i in range(m)])
    ax.set_yticks(range(m), [f"#{i + 1} {n}" for i, n in enumerate(names)], fontsize=7)
    for i in range(m):
        for j in range(m):
            ax.text(j, i, f"{nmi[i, j]:.2f}", ha="center", va="center", fontsize=6,
                    color="white" if nmi[i, j] < 0.6 else "black")
    fig.colorbar(shown, ax=ax, label="NMI")
    ax.set_title("agreement between the top combos")
    return _save(fig, folder / "agreement.png")


def score_chart(folder: Path, table, column: str = "score", limit: int = 25) -> Path:
    """The top of the leaderboard as bars of `column` (the label-free score the ranking uses
    within its encoders), with ACC when known."""
    rows = table.head(limit)
    fig, ax = plt.subplots(figsize=(8, 1 + 0.3 * len(rows)))
    y = np.arange(len(rows))[::-1]
    ax.barh(y, rows[column].fillna(0), color=["tab:green" if s == "ok" else "lightgrey"
                                              for s in rows["status"]], label=f"{column} (label-free)")
    if "acc" in rows:
        ax.scatter(rows["acc"], y, color="black", marker="|", s=120, label="ACC (ground truth)", zorder=3)
    ax.set_yticks(y, [f"#{r} {c}" for r, c in zip(rows["rank"], rows["combo"])], fontsize=7)
    ax.set_xlim(min(0.0, float(rows[column].min())), 1)  # silhouette can be negative
    ax.legend(loc="lower right", fontsize=7)
    ax.set_title("leaderboard")
    return _save(fig, folder / "scores.png")


LARGE_MOSAIC = 12  # thumbnails per side of a cluster's larger sample, opened from the page


def _write_sheet(path: Path, images: np.ndarray, columns: int) -> Path:
    """A bare thumbnail sheet (no axes), as JPEG: photographs, which PNG keeps 4x larger (the
    page inlines every picture and should stay a few MB)."""
    from PIL import Image
    Image.fromarray(_tile(_to_rgb(images), columns)).save(path, quality=90)
    return path


def larger_samples(folder: Path, images: np.ndarray, labels: np.ndarray, seed: int) -> list[Path]:
    """Per cluster, a seeded sample of up to LARGE_MOSAIC^2 of its images (cluster_<i>_more.jpg)."""
    rng = np.random.default_rng(seed + 1)
    paths = []
    for cluster in np.unique(labels[labels >= 0]):
        members = np.flatnonzero(labels == cluster)
        pick = np.sort(rng.choice(members, min(len(members), LARGE_MOSAIC ** 2), replace=False))
        paths.append(_write_sheet(folder / f"cluster_{cluster}_more.jpg", images[pick], LARGE_MOSAIC))
    return paths


def disagreement_mosaic(folder: Path, images: np.ndarray, disagreement: np.ndarray) -> Path:
    """The images the ensemble's members disagree on most (most first), with the share of
    members that voted against the final label."""
    worst = np.argsort(-disagreement, kind="stable")[:MOSAIC * MOSAIC]
    sheet = _tile(_to_rgb(images[worst]), MOSAIC)
    fig, ax = plt.subplots(figsize=(4, 4 * sheet.shape[0] / sheet.shape[1] + 0.4))
    ax.imshow(sheet, interpolation="nearest")
    ax.set_title(f"members disagree most: {disagreement[worst[0]]:.0%} to {disagreement[worst[-1]]:.0%} "
                 "voted otherwise", fontsize=9)
    ax.axis("off")
    return _save(fig, folder / "disagreement.png")


def score_panels(count: int, width: float, height: float):
    """(figure, `count` axes) for small score-against-ACC scatters, up to 4 a row (the spare
    axes of the last row hidden), each labelled by `score_axes`."""
    cols = min(4, count)
    rows = -(-count // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in list(axes.flat)[count:]:
        ax.axis("off")
    return fig, list(axes.flat)[:count]


def score_axes(ax, column: str) -> None:
    ax.set_xlabel(column, fontsize=8)
    ax.set_ylabel("ACC", fontsize=8)
    ax.tick_params(labelsize=7)


def audit_scatter(folder: Path, table, columns: list[str], member_ranks) -> Path:
    """Each label-free score against ACC, one point per working combo: the top-1 as a red star,
    the ensemble's members green (ground truth needed)."""
    ok = table[table["status"] == "ok"]
    fig, axes = score_panels(len(columns), 3.2, 2.8)
    members = ok["rank"].isin(list(member_ranks))
    for ax, column in zip(axes, columns):
        ax.scatter(ok[column], ok["acc"], s=6, color="grey", alpha=0.5)
        ax.scatter(ok.loc[members, column], ok.loc[members, "acc"], s=18, color="tab:green", label="members")
        ax.scatter(ok[column].iloc[:1], ok["acc"].iloc[:1], s=120, marker="*", color="tab:red", label="top-1")
        score_axes(ax, column)
    axes[0].legend(fontsize=7)
    fig.suptitle("label-free scores against ACC (one point per combo)", fontsize=10)
    fig.tight_layout()
    return _save(fig, folder / "audit.png")
