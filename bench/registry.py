"""One registry mechanism for models, reducers and clusterers (timm-style).

An entry is a name, a factory and its default parameters. `create(name, **params)` calls the
factory with the defaults overridden by `params`; `names()` lists the entries.
"""

import importlib.util
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from bench.errors import UserError, unknown_name


@dataclass(frozen=True)
class Entry:
    name: str
    factory: Callable
    defaults: dict = field(default_factory=dict)
    summary: str = ""
    pretrained: bool = False  # uses weights learned on other data (some homeworks forbid it)
    requires: str = ""  # an optional module the entry needs
    extra: str = ""  # the pip extra that installs it
    cost: float = 1.0  # rough relative run time: the slowest tasks are started first
    scales: str = ""  # how an entry quadratic in N is kept near-linear (shown in --list)
    seeded: bool = True  # False: the output ignores the seed, so one cache entry serves every seed
    local: bool = False  # a reducer whose map keeps each point's neighbours, not the layout between far groups

    @property
    def missing(self) -> str:
        """Why the entry can't run here, or '' when it can."""
        if self.requires and importlib.util.find_spec(self.requires) is None:
            return f"needs {self.requires}: pip install -e '.[{self.extra}]'"
        return ""

    def accepts(self, param: str) -> bool:
        signature = inspect.signature(self.factory)
        return param in signature.parameters or any(
            p.kind is p.VAR_KEYWORD for p in signature.parameters.values())


class Registry:
    def __init__(self, kind: str, constraints: dict | None = None):
        """`constraints`: sklearn-style constraints (`sklearn.utils._param_validation`) of the
        factories' own parameters, by name, for those no estimator checks itself (torch
        encoders, our wrappers): `create` refuses a bad value at once, as sklearn does."""
        self.kind = kind
        self.constraints = constraints or {}
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, factory: Callable | None = None, *, summary: str = "",
                 pretrained: bool = False, requires: str = "", extra: str = "", cost: float = 1.0,
                 scales: str = "", seeded: bool = True, local: bool = False, **defaults: Any):
        """Register `factory` under `name`; usable as a decorator or as a plain call."""
        def add(fn: Callable) -> Callable:
            # a notebook cell run again registers its entry again: the new one replaces it
            again = fn.__module__ == "__main__" == getattr(self._entries.get(name), "factory", fn).__module__
            if name in self._entries and not again:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            # the docstring's first paragraph: its first line alone may stop mid-sentence
            doc = summary or " ".join((inspect.getdoc(fn) or "").split("\n\n")[0].split())
            self._entries[name] = Entry(name, fn, dict(defaults), doc, pretrained, requires, extra,
                                        cost, scales, seeded, local)
            return fn
        return add(factory) if factory is not None else add

    def adopt(self, entry: Entry | None) -> None:
        """Know `entry` here too: a worker process imports the registries afresh, without the
        entries its parent registered at run time (in a notebook, a script's `__main__`)."""
        if entry is not None and entry.name not in self._entries:
            self._entries[entry.name] = entry

    def get(self, name: str) -> Entry:
        if name not in self._entries:
            raise unknown_name(self.kind, name, self.names())
        return self._entries[name]

    def create(self, name: str, **params: Any):
        entry = self.get(name)
        if entry.missing:
            raise UserError(f"{self.kind} {name!r} {entry.missing}")
        unknown = [p for p in params if not entry.accepts(p)]
        if unknown:
            raise UserError(f"{self.kind} {name!r} takes no parameter {unknown[0]!r}")
        from sklearn.utils._param_validation import Interval, validate_parameter_constraints
        for param, value in params.items():  # a bool is an int to Python (and to sklearn's Interval)
            numeric = any(isinstance(c, Interval) for c in self.constraints.get(param, ()))
            if numeric and isinstance(value, (bool, np.bool_)):
                raise UserError(f"{self.kind} {name!r}: {param}={value!r} is not a number")
        validate_parameter_constraints({p: self.constraints[p] for p in params if p in self.constraints},
                                       params, caller_name=f"{self.kind} {name!r}")
        return entry.factory(**{**entry.defaults, **params})

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def __iter__(self):
        return iter(self._entries[n] for n in self.names())


PACKAGES = ("models", "reducers", "clusterers")  # top-level, beside bench/


def check_packages() -> None:
    """The registries' packages are imported by name, so a folder called `models` (or
    `reducers`, `clusterers`) in the folder Python starts from, first on `sys.path`, would be
    imported instead of bench's: one clear error rather than an ImportError from inside bench."""
    root = Path(__file__).resolve().parents[1]
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        found = [Path(p).resolve() for p in (spec.submodule_search_locations or [])] if spec else []
        if found and root / name not in found:
            raise UserError(f"{found[0]}: this folder's {name!r} hides bench's own {name} package, which "
                            f"bench imports by that name; run bench from another folder, or rename this one")
