"""numba's compiled kernels kept on disk: a second process loads them."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# one UMAP reduce stage in a fresh process, as a worker runs it; prints what numba compiled
# and what it loaded from its cache, and the embedding
STAGE = textwrap.dedent("""
    import json, sys
    import numpy as np
    from bench import stages
    from bench.cache import Cache
    from bench.grids import Spec
    root, key = sys.argv[1], sys.argv[2]
    cache = Cache(root)
    latent = np.random.default_rng(0).normal(size=(300, 64)).astype(np.float32)
    cache.save("encode", "latent", {"x": latent}, {})
    record = stages.reduce(Spec("umap2"), "latent", key, root, seed=0)
    assert record.ok and not record.cached, record
    from numba.core.dispatcher import Dispatcher
    import umap.umap_
    kernels = {name: f.stats for name, f in vars(umap.umap_).items() if isinstance(f, Dispatcher)}
    print(json.dumps({"hits": sorted(n for n, s in kernels.items() if s.cache_hits),
                      "compiled": sorted(n for n, s in kernels.items() if s.cache_misses),
                      "warnings": list(record.warnings),
                      "embedding": cache.load("reduce", key)[0]["x"].tolist()}))
""")


def run_stage(cache_root, key):
    # numba's cache is the machine's own, as in a run: an empty one would cost this test a
    # compilation of every kernel that the rest of the suite then loads anyway
    done = subprocess.run([sys.executable, "-c", STAGE, str(cache_root), key], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_a_second_process_loads_umaps_kernels_instead_of_compiling_them(tmp_path):
    first = run_stage(tmp_path, "first")  # compiles the kernels, or loads them if a run did
    assert "smooth_knn_dist" in first["compiled"] + first["hits"]  # UMAP does not cache it itself
    second = run_stage(tmp_path, "second")  # another key: the stage itself runs again
    assert "smooth_knn_dist" in second["hits"] and not second["compiled"]
    assert second["embedding"] == first["embedding"]  # the same machine code, the same result
    assert not second["warnings"]
