"""A run's pictures and its self-contained `report.html` (images inlined, no network needed)."""

import base64
import html
import math
from pathlib import Path

import numpy as np
import pandas as pd

from bench import plots
from bench.cache import Cache
from bench.data import Dataset

TOP_AGREEMENT = 10  # combos in the agreement heatmap


def _reconstruct(spec, arrays: dict, images: np.ndarray) -> np.ndarray | None:
    """Rebuild a trained encoder from its cached weights and reconstruct `images`."""
    import torch
    from models import create_encoder
    state = {k.removeprefix("state."): torch.from_numpy(v) for k, v in arrays.items() if k.startswith("state.")}
    model = create_encoder(spec.name, in_channels=images.shape[1], image_size=images.shape[2:], **spec.kwargs)
    if not state or not hasattr(model, "decoder"):
        return None  # nothing trained (pixels, features), or nothing to reconstruct with (contrastive)
    model.load_state_dict(state)
    model.eval()
    with torch.no_grad():
        return model(torch.from_numpy(images))[1].numpy()


def draw_pictures(folder: Path, dataset: Dataset, table: pd.DataFrame, ranked: list, labels: np.ndarray,
                  cache: Cache, seed: int) -> list[Path]:
    """Every picture of the run, written into `folder`; `ranked` is the outcomes in board order."""
    usable = [o for o, status in zip(ranked, table["status"]) if status == "ok"]
    pictures = plots.cluster_mosaics(folder, dataset.x, labels, seed)
    best = usable[0]
    embedding = cache.load("reduce", best.records["reduce"].key)[0]["x"]
    pictures.append(plots.embedding_map(folder, embedding, labels, dataset.y, seed,
                                        f"best combo: {best.combo.label}"))
    seen = set()
    for outcome in ranked:
        record = outcome.records.get("encode")
        if record is None or not record.ok or record.key in seen:
            continue
        seen.add(record.key)
        arrays, meta = cache.load("encode", record.key)
        originals = dataset.x[:8]
        reconstructions = _reconstruct(outcome.combo.encoder, arrays, originals)
        if meta["loss_history"]:
            pictures.append(plots.encoder_panel(folder, outcome.combo.encoder.label, originals,
                                                reconstructions, meta["loss_history"]))
    top = usable[:TOP_AGREEMENT]
    if len(top) > 1:
        pictures.append(plots.agreement_heatmap(folder, [o.combo.label for o in top], [o.labels for o in top]))
    pictures.append(plots.score_chart(folder, table))
    return pictures


def _cell(value) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4f}"
    return html.escape(str(value))


def summary_lines(record: dict) -> list[tuple[str, str]]:
    """The run's summary as (heading, text) pairs: shared by the console, `bench.show` and the page."""
    data, grid, cache, ens = record["data"], record["grid"], record["cache"], record["ensemble"]
    n, h, w, c = data["shape"]
    lines = [("data", f"{data['source']}: {n} images {h}x{w}x{c}, {data['n_clusters']} clusters"),
             ("grid", f"{grid['name']}: {grid['combos']} combos"),
             ("cache", f"{cache['hits']} stages from cache, {cache['computed']} computed"),
             ("time", f"{record['timings_s']['total']:.1f} s")]
    method = {"vote": "majority vote", "weighted": "score-weighted vote",
              "coassoc": "co-association consensus"}[ens.get("method", "vote")]
    lines.append(("ensemble", f"{method} of {len(ens['members'])} combos (agreement with it)"))
    lines += [(f"  #{m['rank']}", f"{m['combo']} ({m['agreement']:.1%})") for m in ens["members"]]
    if ens["skipped"]:
        lines += [("skipped", note) for note in ens["skipped"]]
    if ens["metrics"]:
        lines.append(("vs truth", "  ".join(f"{k.upper()} {v:.4f}" for k, v in ens["metrics"].items())))
    if "audit" in record:  # how well the label-free ranking picked (ground truth only)
        a = record["audit"]
        lines.append(("audit", f"ACC ensemble {a['ensemble_acc']:.3f}, best member "
                               f"{a.get('best_member_acc', float('nan')):.3f}, top-1 {a['top1_acc']:.3f}, "
                               f"oracle best {a['oracle_best_acc']:.3f} (regret {a['regret']:.3f}), "
                               f"median {a['median_acc']:.3f}"))
        lines.append(("  rho", "Spearman with ACC: " + ", ".join(
            f"{k} {v:+.2f}" for k, v in a["spearman_with_acc"].items())))
    return lines


SORT_SCRIPT = """
document.querySelectorAll('th').forEach((th, col) => th.addEventListener('click', () => {
  const body = th.closest('table').tBodies[0], rows = [...body.rows];
  const dir = th.dataset.dir = th.dataset.dir === 'asc' ? 'desc' : 'asc';
  const key = r => { const t = r.cells[col].textContent, v = parseFloat(t); return isNaN(v) ? t : v; };
  rows.sort((a, b) => (key(a) > key(b) ? 1 : key(a) < key(b) ? -1 : 0) * (dir === 'asc' ? 1 : -1));
  rows.forEach(r => body.appendChild(r));
}));
"""

STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; font-size: 12px; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; }
th { background: #eee; cursor: pointer; }
td.text { text-align: left; }
tr.failed { color: #999; }
tr.member { background: #e8f5e9; }
img { max-width: 100%; margin: 0.5em 0; border: 1px solid #ddd; }
dt { font-weight: bold; float: left; width: 6em; } dd { margin-left: 7em; }
"""


def write_html(folder: Path, record: dict, table: pd.DataFrame, pictures: list[Path]) -> Path:
    """One self-contained page: summary, sortable leaderboard, every picture inlined."""
    members = {m["combo"] for m in record["ensemble"]["members"]}
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    rows = []
    for row in table.to_dict("records"):
        css = "member" if row["combo"] in members else ("failed" if row["status"] != "ok" else "")
        cells = "".join(f'<td class="{"text" if isinstance(v, str) else ""}">{_cell(v)}</td>'
                        for v in row.values())
        rows.append(f'<tr class="{css}">{cells}</tr>')
    summary = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in summary_lines(record))
    images = "".join(
        f'<figure><img alt="{p.stem}" src="data:image/png;base64,'
        f'{base64.b64encode(p.read_bytes()).decode()}"><figcaption>{p.name}</figcaption></figure>'
        for p in pictures)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>bench run "
            f"{html.escape(record['grid']['name'])}</title><style>{STYLE}</style></head><body>"
            f"<h1>bench run: {html.escape(record['grid']['name'])}</h1><dl>{summary}</dl>"
            f"<h2>Leaderboard</h2><p>Ranked by a label-free score ({html.escape(record['args']['rank_by'])}); ensemble members highlighted, "
            f"failed combos grey. Click a heading to sort.</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            f"<h2>Pictures</h2>{images}<script>{SORT_SCRIPT}</script></body></html>")
    path = folder / "report.html"
    path.write_text(page)
    return path
