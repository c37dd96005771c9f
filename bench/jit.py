"""numba's compiled kernels kept on disk, so that a new process loads them instead of compiling.

UMAP and pynndescent compile their kernels with numba in every new process, paid again by each
worker and each run, because most of UMAP's are not declared cacheable (pynndescent's mostly
are). Turning numba's own on-disk cache on for them puts them where numba keeps the cacheable
ones: `__pycache__` beside the library, or the user's cache folder where that is read-only, or
`$NUMBA_CACHE_DIR`. One place per machine, so every stage cache and every run shares them.
"""

import sys

# numba's warning when a kernel cannot be cached (NN-descent, whose distance function is an
# argument): it compiles in every process as before, so the warning says nothing to act on
UNCACHEABLE = "Cannot cache compiled function"


def cache_compiled(*packages: str) -> None:
    """Turn the on-disk cache on for every jitted function in the imported modules of `packages`.
    A function jitted twice with different options (UMAP's serial and parallel layout step) is
    left alone: numba's cache index does not tell those two compilations apart."""
    from numba.core.caching import NullCache
    from numba.core.dispatcher import Dispatcher
    found = {}
    for name, module in list(sys.modules.items()):
        if module is not None and name.partition(".")[0] in packages:
            for value in list(vars(module).values()):
                if isinstance(value, Dispatcher):
                    found.setdefault(value.py_func, set()).add(value)
    for dispatchers in found.values():
        if len(dispatchers) == 1:
            [dispatcher] = dispatchers
            if isinstance(dispatcher._cache, NullCache):
                dispatcher.enable_caching()
