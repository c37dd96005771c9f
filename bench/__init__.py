"""bench: an ensemble benchmarking harness for unsupervised image clustering.

    result = bench.run_grid(images, n_clusters=2, grid="quick")   # see bench.api
    audit = bench.run_audit({"mine": (images, labels)})             # see bench.selection_audit
"""

__version__ = "0.1.0"
__all__ = ["run_grid", "make_grid", "Result", "run_audit", "audit_runs", "UserError"]


def __getattr__(name: str):
    # the API on first use: `import bench` stays light for the CLI's replay and the workers
    if name in ("run_grid", "make_grid", "Result"):
        from bench import api
        return getattr(api, name)
    if name in ("run_audit", "audit_runs"):
        from bench import selection_audit
        return getattr(selection_audit, name)
    if name == "UserError":
        from bench.errors import UserError
        return UserError
    raise AttributeError(f"module 'bench' has no attribute {name!r}")


def __dir__():
    # so that dir(bench) and help(bench) list the API, which __getattr__ only loads on use
    return sorted({*globals(), *__all__})
