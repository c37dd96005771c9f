"""sklearn's Barnes-Hut t-SNE against openTSNE (FFT in 2-D, Barnes-Hut in 3-D) on the same
embedding (standardised PCA(50) of the vehicles-vs-animals pixels), single-threaded, side by
side: wall time and the ACC of KMeans on the result."""

import sys
import time
from pathlib import Path

import numpy as np
from openTSNE import TSNE as OpenTSNE
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: common, tasks
from common import VEHICLES

from bench.data import load_dataset
from bench.scoring import external

data = load_dataset(str(VEHICLES))
x = PCA(50, random_state=0).fit_transform(StandardScaler().fit_transform(data.x.reshape(len(data.x), -1)))
runs = [(f"sklearn Barnes-Hut t-SNE({d})", lambda d=d: TSNE(d, init="pca", random_state=0).fit_transform(x))
        for d in (2, 3)]
runs += [(f"openTSNE {m} t-SNE({d})", lambda d=d, m=m: np.asarray(
    OpenTSNE(d, negative_gradient_method=m, n_jobs=1, random_state=0).fit(x))) for d, m in ((2, "fft"), (3, "bh"))]
with threadpool_limits(1):
    for name, embed in runs:
        start = time.perf_counter()
        embedding = embed()
        seconds = time.perf_counter() - start
        acc = external(data.y, KMeans(2, random_state=0).fit_predict(embedding))["acc"]
        print(f"{name:<32} on {x.shape[0]}x{x.shape[1]}: {seconds:6.1f} s, KMeans ACC {acc:.3f}", flush=True)
