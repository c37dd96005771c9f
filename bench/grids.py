"""Grids: which registry entries (with parameters) take part in a run.

The combos of a grid are the cartesian product encoders x reducers x clusterers. A grid is
named (`seed`, `quick`, `full`, `no-pretrained`), read from a TOML file:

    encoders   = ["baseline", {name = "baseline", epochs = 5}]
    reducers   = ["pca32", {name = "pca50w", whiten = false, label = "pca50"}]
    clusterers = ["kmeans", "gmm"]

or built in Python (`bench.make_grid`).
"""

import itertools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bench.errors import UserError, unknown_name
from bench.registry import Registry, check_packages

check_packages()  # before importing them
from clusterers import CLUSTERERS  # noqa: E402
from models import MODELS  # noqa: E402
from reducers import REDUCERS  # noqa: E402

STAGES = {"encoders": MODELS, "reducers": REDUCERS, "clusterers": CLUSTERERS}


@dataclass(frozen=True)
class Spec:
    """One registry entry with its parameter overrides."""
    name: str
    params: tuple = ()  # sorted (key, value) pairs, hashable
    label: str = ""

    def __post_init__(self):
        if not self.label:
            args = ",".join(f"{k}={v}" for k, v in self.params)
            object.__setattr__(self, "label", f"{self.name}({args})" if args else self.name)

    @property
    def kwargs(self) -> dict:
        return dict(self.params)

    def with_params(self, **extra) -> "Spec":
        """The same entry with `extra` parameters set; a label the user gave it is kept."""
        given = self.label != Spec(self.name, self.params).label
        return Spec(self.name, tuple(sorted({**self.kwargs, **extra}.items())), self.label if given else "")


@dataclass(frozen=True)
class Combo:
    encoder: Spec
    reducer: Spec
    clusterer: Spec

    @property
    def label(self) -> str:
        return f"{self.encoder.label} | {self.reducer.label} | {self.clusterer.label}"


@dataclass
class Grid:
    name: str
    encoders: list[Spec] = field(default_factory=list)
    reducers: list[Spec] = field(default_factory=list)
    clusterers: list[Spec] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # entries left out, with the reason

    def combos(self) -> list[Combo]:
        return [Combo(*c) for c in itertools.product(self.encoders, self.reducers, self.clusterers)]


NOT_IN_FULL = {"identity", "effnet", "effnet2", "simclr-scan", "scan", "denoise", "vae", "dense"}
# name them to use them: identity's thousands of raw dimensions make GMM and spectral crawl; effnet
# and effnet2 are in `full` side by side, as effnets; simclr-scan and the scan clusterer cost more
# time on a CPU than they add to the ensemble; denoise, vae and dense never changed the pick, the
# vote or the best combo of an audited run, for a third of its stage time (docs/encoders.md)


def _everything(name: str, pretrained: bool = True) -> Grid:
    """Every registered entry that can run here (`pretrained=False`: none with outside weights)."""
    lists, skipped = [], []
    for registry in STAGES.values():
        entries = [e for e in registry if (pretrained or not e.pretrained) and e.name not in NOT_IN_FULL]
        skipped += [f"{e.name} ({e.missing})" for e in entries if e.missing]
        lists.append([Spec(e.name) for e in entries if not e.missing])
    return Grid(name, *lists, skipped=skipped)


NAMED_GRIDS = {
    "seed": lambda: Grid("seed", [Spec("baseline")], [Spec("pca32")], [Spec("kmeans")]),
    "quick": lambda: Grid("quick", [Spec("baseline"), Spec("pixels")],
                          [Spec("pca32"), Spec("pca50w")],
                          [Spec("kmeans"), Spec("gmm"), Spec("ward")]),
    "full": lambda: _everything("full"),
    "no-pretrained": lambda: _everything("no-pretrained", pretrained=False),
}


def drop_pretrained(grid: Grid) -> None:
    """`--no-pretrained`: remove encoders that use weights learned on other data."""
    grid.encoders = [s for s in grid.encoders if not MODELS.get(s.name).pretrained]
    if not grid.encoders:
        raise UserError(f"grid {grid.name}: --no-pretrained leaves no encoder")


# given to every entry by the run (the images' channels and size too, read from them)
RUN_SETTINGS = {"seed": "the same for every entry; set --seed",
                "n_clusters": "the same for every entry; set --n-clusters",
                "in_channels": "read from the images", "image_size": "read from the images; set --image-size"}


def _spec(item, registry: Registry, source: str) -> Spec:
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise UserError(f"{source}: each {registry.kind} must be a name or a table with 'name', got {item!r}")
    params = {k: v for k, v in item.items() if k not in ("name", "label")}
    entry = registry.get(item["name"])
    for key in params:
        if key in RUN_SETTINGS:
            raise UserError(f"{source}: {key!r} of {registry.kind} {entry.name!r} is the run's, "
                            f"{RUN_SETTINGS[key]}")
        if not entry.accepts(key):
            raise UserError(f"{source}: {registry.kind} {entry.name!r} takes no parameter {key!r}")
    return Spec(entry.name, tuple(sorted(params.items())), item.get("label", ""))


def read_grid_file(path: Path) -> Grid:
    try:
        table = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: cannot read grid file ({e})") from None
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: not valid TOML ({e})") from None
    return grid_from_table({"name": path.stem, **table}, str(path))


def grid_from_table(table: dict, source: str) -> Grid:
    """A grid from a grid file's table (or the same built in Python): `name`, and for each
    stage a list of names or {name, label, params} tables."""
    unknown = set(table) - set(STAGES) - {"name"}
    if unknown:
        raise UserError(f"{source}: unknown key {sorted(unknown)[0]!r}; a grid has {', '.join(STAGES)}")
    if not isinstance(table["name"], str) or not table["name"].strip():
        raise UserError(f"{source}: 'name' must be a non-empty string, got {table['name']!r}")
    lists = {}
    for key, registry in STAGES.items():
        items = table.get(key)
        if not isinstance(items, (list, tuple)) or not items:
            raise UserError(f"{source}: '{key}' must be a non-empty list of {registry.kind} names")
        lists[key] = [_spec(item, registry, source) for item in items]
        labels = [spec.label for spec in lists[key]]
        twice = next((label for label in labels if labels.count(label) > 1), None)
        if twice:
            raise UserError(f"{source}: {registry.kind} {twice!r} is listed twice in '{key}'; "
                            "give one a different label")
    return Grid(table["name"], **lists)


def override_training(grid: Grid, **params) -> None:
    """`--epochs`, `--plateau`: set these training parameters on every trainable encoder of
    `grid`. `--epochs N` means N epochs: it also lifts a `min_steps` floor (simclr's)."""
    def overridden(spec):
        entry = MODELS.get(spec.name)
        if not entry.accepts("epochs"):
            return spec
        floor = {"min_steps": 0} if "epochs" in params and entry.accepts("min_steps") else {}
        # an encoder trained in fixed phases (simclr-scan) takes --epochs for its first one, no --plateau
        return spec.with_params(**{k: v for k, v in params.items() if entry.accepts(k)}, **floor)
    grid.encoders = [overridden(spec) for spec in grid.encoders]


def _validate(estimator) -> None:
    """sklearn checks parameter values only at fit time; check them now, in every step of a
    pipeline and every estimator a wrapper holds."""
    params = estimator.get_params(deep=True).values() if hasattr(estimator, "get_params") else ()
    for part in (estimator, *params):
        if hasattr(part, "_parameter_constraints") and hasattr(part, "_validate_params"):
            part._validate_params()


def check_entries(grid: Grid, dataset, *, n_clusters: int, seed: int) -> None:
    """Build every entry once with its parameters, so a bad value or an image size an encoder
    cannot take is one clear error before any training, not a failed combo an hour later."""
    _, c, h, w = dataset.x.shape
    from models import takes_clusters
    built = [(spec, MODELS, dict(in_channels=c, **({"image_size": (h, w)} if MODELS.get(spec.name)
                                                   .accepts("image_size") else {}),
                                 **({"n_clusters": n_clusters} if takes_clusters(spec.name) else {})))
             for spec in grid.encoders]
    # reducers and clusterers at their registered defaults need no check (and UMAP's import
    # costs seconds); encoders are always built, for the image size they accept
    built += [(spec, REDUCERS, dict(seed=seed)) for spec in grid.reducers if spec.params]
    built += [(spec, CLUSTERERS, dict(n_clusters=n_clusters, seed=seed))
              for spec in grid.clusterers if spec.params]
    for spec, registry, context in built:
        try:
            entry = registry.create(spec.name, **context, **spec.kwargs)
            _validate(entry)
        except UserError:
            raise
        except (ValueError, TypeError) as e:  # sklearn's and our own word for a bad value
            raise UserError(f"grid {grid.name}: {registry.kind} {spec.label!r}: "
                            f"{str(e).splitlines()[0]}") from None
        except Exception:
            continue  # a broken entry, not bad input: its stage will fail and be recorded
        multiple = getattr(entry, "input_multiple", 1)
        if h % multiple or w % multiple:
            raise UserError(f"{dataset.source}: images are {h}x{w}; encoder {spec.label!r} needs "
                            f"height and width that are multiples of {multiple} "
                            + ("(--image-size N resizes them)" if dataset.resized is None
                               else f"(give --image-size a multiple of {multiple})"))


def check_travel(grid: Grid, backend: str) -> None:
    """Entries defined in a notebook or a script (`__main__`) reach loky's and dask's workers
    by value (cloudpickle), and threads share them. The multiprocessing backend sends only
    their name: a forked worker has them, a spawned one re-runs the script's file, but there is
    no file to re-run behind a notebook or `python -c`, and the worker would die unpickling."""
    import multiprocessing
    import sys
    if (backend != "multiprocessing" or multiprocessing.get_start_method() == "fork"
            or getattr(sys.modules["__main__"], "__file__", None)):
        return
    for kind, specs in (("encoder", grid.encoders), ("reducer", grid.reducers), ("clusterer", grid.clusterers)):
        for spec in specs:
            if getattr(STAGES[f"{kind}s"].get(spec.name).factory, "__module__", "") == "__main__":
                raise UserError(f"{kind} {spec.name!r} is defined in this interactive session, which the "
                                "multiprocessing backend cannot send to its workers; use backend loky "
                                "(the default) or threading, or define it in an importable module")


def resolve_grid(name: str) -> Grid:
    """A named grid, or a grid read from a TOML file path."""
    if name in NAMED_GRIDS:
        return NAMED_GRIDS[name]()
    if name.endswith(".toml") or Path(name).exists():
        if not Path(name).is_file():
            raise UserError(f"{name}: no such grid file")
        return read_grid_file(Path(name))
    raise unknown_name("grid", name, [*NAMED_GRIDS, "or a .toml file"])
