"""A run's pictures and its self-contained `report.html` (images inlined, no network needed)."""

import base64
import html
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from bench.cache import Cache
from bench.console import counted
from bench.data import Dataset

TOP_AGREEMENT = 10  # combos in the agreement heatmap


def _reconstruct(spec, arrays: dict, images: np.ndarray) -> np.ndarray | None:
    """Rebuild a trained encoder from its cached weights and reconstruct `images`."""
    import torch
    from models import create_encoder
    state = {k.removeprefix("state."): torch.from_numpy(v) for k, v in arrays.items() if k.startswith("state.")}
    model = create_encoder(spec.name, in_channels=images.shape[1], image_size=images.shape[2:], **spec.kwargs)
    if not state or not model.reconstructs:
        return None  # nothing trained (pixels, features), or nothing to reconstruct with (contrastive)
    model.load_state_dict(state)
    model.eval()
    with torch.no_grad():
        return model.decode(model.encode(torch.from_numpy(images))).numpy()


def draw_pictures(folder: Path, dataset: Dataset, table: pd.DataFrame, ranked: list, labels: np.ndarray,
                  cache: Cache, seed: int, members: list = (), rank_by: str = "silhouette") -> list[Path]:
    """Every picture of the run, written into `folder`; `ranked` is the outcomes in board order,
    `members` the ensemble's (row, outcome) pairs."""
    from bench import plots  # matplotlib: only when pictures are drawn
    from bench.ensemble import disagreement
    from bench.selection import GLOBAL, SCORES, split_rule
    usable = [o for o, status in zip(ranked, table["status"]) if status == "ok"]
    pictures = plots.cluster_mosaics(folder, dataset.x, labels, seed)
    pictures += plots.larger_samples(folder, dataset.x, labels, seed)
    if len(members) > 1:
        k = int(labels.max()) + 1
        pictures.append(plots.disagreement_mosaic(folder, dataset.x, disagreement(
            [o.labels for _, o in members], k, labels)))
    if dataset.y is not None:
        encoders, partition = split_rule(rank_by)
        columns = [c for c in dict.fromkeys([*encoders, partition, *SCORES])  # an empty panel shows nothing
                   if c in table and c != GLOBAL and table.loc[table["status"] == "ok", c].notna().any()]
        pictures.append(plots.audit_scatter(folder, table, columns, [row.rank for row, _ in members]))
    best = usable[0]
    embedding = cache.array("reduce", best.records["reduce"].key)
    pictures.append(plots.embedding_map(folder, embedding, labels, dataset.y, seed,
                                        f"best combo: {best.combo.label}"))
    seen = set()
    for outcome in ranked:
        key = outcome.ok_key("encode")
        if key is None or key in seen:
            continue
        seen.add(key)
        arrays, meta = cache.load("encode", key)
        originals = dataset.x[:8]
        reconstructions = _reconstruct(outcome.combo.encoder, arrays, originals)
        if meta["loss_history"]:
            pictures.append(plots.encoder_panel(folder, outcome.combo.encoder.label, originals,
                                                reconstructions, meta["loss_history"]))
    top = usable[:TOP_AGREEMENT]
    if len(top) > 1:
        pictures.append(plots.agreement_heatmap(folder, [o.combo.label for o in top], [o.labels for o in top]))
    pictures.append(plots.score_chart(folder, table, split_rule(rank_by)[1]))
    return pictures


def pictures(folder: Path, dataset: Dataset, table: pd.DataFrame, ranked: list, labels: np.ndarray,
             cache: Cache, seed: int, members: list = (), rank_by: str = "silhouette") -> list[Path]:
    """`draw_pictures`, or its files again from the cache when nothing they show changed: a
    rerun whose stages all come from the cache would otherwise spend most of its time redrawing
    the same pictures (11 of 19 s on 9000 images)."""
    import hashlib

    from bench import plots
    from bench.cache import code_version, make_key
    digest = hashlib.sha256()
    for part in (table.to_csv(index=False).encode(), np.ascontiguousarray(labels).tobytes()):
        digest.update(part)
    key = make_key(stage="pictures", data=dataset.fingerprint, shown=digest.hexdigest(), seed=seed,
                   members=[int(row.rank) for row, _ in members], rank_by=rank_by,
                   outcomes=[o.ok_key("cluster") for o in ranked],
                   code=code_version(plots, pictures))  # this file and plots.py
    cached = cache.load("pictures", key)
    if cached is not None:
        arrays, meta = cached
        paths = [folder / name for name in meta["names"]]
        for path in paths:
            path.write_bytes(arrays[path.name].tobytes())
        return paths
    paths = draw_pictures(folder, dataset, table, ranked, labels, cache, seed, members, rank_by)
    cache.save("pictures", key, {p.name: np.frombuffer(p.read_bytes(), np.uint8) for p in paths},
               {"names": [p.name for p in paths]})
    return paths


def _cell(value) -> str:
    if value is None:  # undefined, as run.json writes it
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4f}"
    return html.escape(str(value))


def _shown(value, spec: str = ".3f") -> str:
    """A number of a run's record, "n/a" where undefined (NaN in memory, null in run.json)."""
    return "n/a" if value is None or not math.isfinite(value) else format(value, spec)


def summary_lines(record: dict) -> list[tuple[str, str]]:
    """The run's summary as (heading, text) pairs: shared by the console, `bench.show` and the page."""
    data, grid, cache, ens = record["data"], record["grid"], record["cache"], record["ensemble"]
    n, h, w, c = data["shape"]
    lines = [("data", f"{data['source']}: {n} images {h}x{w}x{c}, {data['n_clusters']} clusters"),
             ("grid", f"{grid['name']}: {counted(grid['combos'], 'combo')}"),
             ("cache", f"{counted(cache['hits'], 'stage')} from cache, {cache['computed']} computed"),
             ("time", f"{record['timings_s']['total']:.1f} s")]
    if "replay_of" in record:
        lines.append(("replay", f"copied in {record['timings_s']['replay']:.1f} s from {record['replay_of']} "
                                "(same inputs: nothing recomputed)"))
    method = {"vote": "majority vote", "weighted": "score-weighted vote",
              "coassoc": "co-association consensus"}[ens.get("method", "vote")]
    lines.append(("ensemble", f"{method} of {counted(len(ens['members']), 'combo')} (agreement with it)"))
    lines += [(f"  #{m['rank']}", f"{m['combo']} ({m['agreement']:.1%})") for m in ens["members"]]
    if ens.get("self_train"):
        s = ens["self_train"]
        before = f" (ACC before {s['acc_before']:.4f})" if "acc_before" in s else ""
        lines.append(("self-train", f"{s['unanimous']} unanimous images taught the other {s['relabelled']}: "
                                    f"{s['changed']} changed{before}"))
    if ens["skipped"]:
        lines += [("skipped", note) for note in ens["skipped"]]
    if ens.get("caution"):  # runs before it have none
        lines.append(("caution", ens["caution"]))
    if ens["metrics"]:
        lines.append(("vs truth", "  ".join(f"{k.upper()} {v:.4f}" for k, v in ens["metrics"].items())))
    if "audit" in record:  # how well the label-free ranking picked (ground truth only)
        a = record["audit"]
        lines.append(("audit", f"ACC ensemble {_shown(a['ensemble_acc'])}, best member "
                               f"{_shown(a.get('best_member_acc'))}, top-1 {_shown(a['top1_acc'])}, "
                               f"oracle best {_shown(a['oracle_best_acc'])} (regret {_shown(a['regret'])}), "
                               f"median {_shown(a['median_acc'])}"))
        lines.append(("  rho", "Spearman with ACC: " + ", ".join(  # undefined where a score is constant
            f"{k} {_shown(v, '+.2f')}" for k, v in a["spearman_with_acc"].items())))
    return lines


PAGE_SCRIPT = """
const board = document.getElementById('board');
const filters = [...document.querySelectorAll('select[data-column]')];
function applyFilters() {
  let shown = 0, total = 0;
  for (const body of board.tBodies) for (const row of body.rows) {
    if (!row.dataset.combo) continue;
    total++;
    const keep = filters.every(f => f.value === '' || row.dataset[f.dataset.column] === f.value);
    row.hidden = !keep;
    if (keep) shown++;
  }
  document.getElementById('shown').textContent = shown + ' of ' + total + ' combos shown';
}
filters.forEach(f => f.addEventListener('change', applyFilters));
board.querySelectorAll('th').forEach((th, col) => th.addEventListener('click', () => {
  const dir = th.dataset.dir = th.dataset.dir === 'asc' ? 'desc' : 'asc';
  const key = r => { const t = r.cells[col].textContent, v = parseFloat(t); return t === '' ? null : isNaN(v) ? t : v; };
  for (const body of board.tBodies) {  // working and failed combos each sorted in their own part
    const rows = [...body.rows].filter(r => r.dataset.combo);
    rows.sort((a, b) => {
      const x = key(a), y = key(b);
      if (x === null || y === null) return (x === null) - (y === null);  // blanks last
      return (x > y ? 1 : x < y ? -1 : 0) * (dir === 'asc' ? 1 : -1);
    });
    rows.forEach(r => body.appendChild(r));
  }
}));
applyFilters();
"""

STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
h2 { margin-top: 1.5em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 12px; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; white-space: nowrap; }
td.text { text-align: left; }
span.status { display: inline-block; max-width: 14em; overflow: hidden; text-overflow: ellipsis; vertical-align: bottom; }
#boardwrap { max-height: 75vh; overflow: auto; border: 1px solid #ccc; }
#board th { background: #eee; cursor: pointer; position: sticky; top: 0; z-index: 1; }
#board tbody.failed tr { color: #999; background: #fafafa; }
#board tbody.failed tr.apart td { color: #555; font-weight: bold; text-align: left; background: #eee; }
#board tr.member { background: #e8f5e9; }
.controls select { margin-right: 1em; }
.heatmaps { display: flex; flex-wrap: wrap; gap: 1.5em; }
.heatmaps table td { min-width: 3.5em; }
.heatmaps caption { font-weight: bold; text-align: left; }
.mosaics { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 1em; }
.mosaics figure { margin: 0; }
img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 11px; color: #666; }
dt { font-weight: bold; float: left; width: 6em; } dd { margin-left: 7em; }
"""


def _image(path: Path, alt: str = "") -> str:
    kind = "jpeg" if path.suffix == ".jpg" else "png"
    return (f'<img alt="{html.escape(alt or path.stem)}" src="data:image/{kind};base64,'
            f'{base64.b64encode(path.read_bytes()).decode()}">')


def _colour(value: float, low: float, high: float) -> str:
    """A green of strength `value` between low and high (blank for a missing value)."""
    if value is None or math.isnan(value):
        return ""
    share = 0.0 if high <= low else (value - low) / (high - low)
    return f' style="background: rgba(46, 160, 67, {0.08 + 0.8 * share:.2f})"'


def grid_heatmaps(table: pd.DataFrame, column: str, encoder_column: str | None = None) -> str:
    """For each clusterer, encoder x reducer coloured by `column` (the best over failed cells
    is blank), with each encoder's best over the whole grid, and its encoder score if any."""
    values = table[column].where(table["status"] == "ok")
    low, high = (values.min(), values.max()) if values.notna().any() else (0.0, 1.0)
    encoders, reducers = list(dict.fromkeys(table["encoder"])), list(dict.fromkeys(table["reducer"]))
    best = values.groupby(table["encoder"]).max()
    parts = []
    for clusterer in dict.fromkeys(table["clusterer"]):
        cells = values[table["clusterer"] == clusterer].groupby(
            [table["encoder"], table["reducer"]]).max()
        head = "".join(f"<th>{html.escape(r)}</th>" for r in reducers)
        rows = []
        for e in encoders:
            label = html.escape(e)
            if encoder_column:
                label += f" ({_cell(table.loc[table['encoder'] == e, encoder_column].iloc[0])})"
            row = "".join(f"<td{_colour(cells.get((e, r), np.nan), low, high)}>{_cell(cells.get((e, r), np.nan))}</td>"
                          for r in reducers)
            rows.append(f'<tr><td class="text">{label}</td>{row}'
                        f'<td{_colour(best.get(e, np.nan), low, high)}>{_cell(best.get(e, np.nan))}</td></tr>')
        parts.append(f'<table class="heatmap"><caption>{html.escape(clusterer)}: {html.escape(column)}'
                     f'</caption><tr><th>encoder</th>{head}<th>best anywhere</th></tr>{"".join(rows)}</table>')
    return f'<div class="heatmaps">{"".join(parts)}</div>'


def _board_cell(column: str, value) -> str:
    if column.endswith("_s") and isinstance(value, float):  # seconds: a tenth is enough
        return f"<td>{'' if math.isnan(value) else f'{value:.1f}'}</td>"
    if column == "status":  # a long reason in one short cell, whole on hover
        return f'<td class="text" title="{html.escape(str(value))}"><span class="status">{_cell(value)}</span></td>'
    return f'<td class="{"text" if isinstance(value, str) else ""}">{_cell(value)}</td>'


def _board(table: pd.DataFrame, members: set, rank_by: str, k: int | None) -> str:
    """The sortable, filterable leaderboard: working combos, then failed ones apart; first the
    columns the ranking uses at `k` clusters, then ACC (with ground truth), then the rest."""
    from bench.defaults import ranked_columns
    first = ["rank", "combo", *ranked_columns(rank_by, k), "acc", "nmi", "ari", "clusters", "status"]
    columns = [c for c in dict.fromkeys(first + list(table.columns)) if c in table and c != "warnings"]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    bodies = {"ok": [], "failed": []}
    for row in table.to_dict("records"):
        part = "ok" if row["status"] == "ok" else "failed"
        css = "member" if row["combo"] in members else ""
        data = " ".join(f'data-{k}="{html.escape(str(row[k]))}"' for k in ("combo", "encoder", "reducer", "clusterer"))
        cells = "".join(_board_cell(c, row[c]) for c in columns)
        bodies[part].append(f'<tr class="{css}" {data} data-status="{part}">{cells}</tr>')
    apart = (f'<tr class="apart"><td colspan="{len(columns)}">failed or degenerate combos '
             f'({len(bodies["failed"])}): never ranked above a working one, never voted</td></tr>'
             if bodies["failed"] else "")
    selects = []
    for column in ("encoder", "reducer", "clusterer", "status"):
        options = ["ok", "failed"] if column == "status" else list(dict.fromkeys(table[column]))
        selects.append(f'<label>{column} <select data-column="{column}"><option value="">all</option>'
                       + "".join(f'<option value="{html.escape(o)}">{html.escape(o)}</option>' for o in options)
                       + "</select></label>")
    return (f'<div class="controls">{"".join(selects)}<span id="shown"></span></div>'
            f'<div id="boardwrap"><table id="board"><thead><tr>{head}</tr></thead>'
            f'<tbody class="ok">{"".join(bodies["ok"])}</tbody>'
            f'<tbody class="failed">{apart}{"".join(bodies["failed"])}</tbody></table></div>')


def write_html(folder: Path, record: dict, table: pd.DataFrame, pictures: list[Path]) -> Path:
    """One self-contained page (pictures inlined, no network, no server): the summary, the grid
    at a glance, the leaderboard to sort and filter, the audit with ground truth, the clusters."""
    from bench.defaults import encoder_score, split_rule
    members = {m["combo"] for m in record["ensemble"]["members"]}
    rank_by = record["args"]["rank_by"]
    _, partition = split_rule(rank_by)
    encoder_column = encoder_score(rank_by)  # the score that orders encoders of one kind
    summary = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in summary_lines(record))
    by_name = {p.name: p for p in pictures}
    grid = grid_heatmaps(table, partition, encoder_column)
    if "acc" in table:
        grid += "<p>and by ACC (ground truth, for measuring only):</p>" + grid_heatmaps(table, "acc")
    mosaics = []
    for name in sorted((n for n in by_name if n.startswith("cluster_") and n.endswith(".png")),
                       key=lambda n: int(n[8:-4])):
        more = by_name.get(name.replace(".png", "_more.jpg"))
        larger = (f"<details><summary>larger sample</summary>{_image(more)}</details>" if more else "")
        mosaics.append(f"<figure>{_image(by_name[name])}{larger}</figure>")
    shown = {n for n in by_name if n.startswith("cluster_")} | {"audit.png", "disagreement.png"}
    sections = [
        f"<h1>bench run: {html.escape(record['grid']['name'])}</h1><dl>{summary}</dl>",
        f"<h2>Grid at a glance</h2><p>Best {html.escape(partition)} of each encoder x reducer, per "
        f"clusterer{' (encoder score in brackets)' if encoder_column else ''}; failed combos blank.</p>{grid}",
        f"<h2>Leaderboard</h2><p>Ranked by {html.escape(rank_by)} (label-free); ensemble members "
        f"green. Click a heading to sort, choose above to filter.</p>{_board(table, members, rank_by, record['data'].get('n_clusters'))}",
    ]
    if "audit.png" in by_name:
        sections.append(f"<h2>Selection audit</h2>{_image(by_name['audit.png'])}")
    sections.append(f'<h2>Clusters</h2><div class="mosaics">{"".join(mosaics)}</div>')
    if "disagreement.png" in by_name:
        sections.append(f"<h2>Where the members disagree</h2>{_image(by_name['disagreement.png'])}")
    sections.append("<h2>More pictures</h2>" + "".join(
        f"<figure>{_image(p)}<figcaption>{p.name}</figcaption></figure>" for p in pictures if p.name not in shown))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>bench run "
            f"{html.escape(record['grid']['name'])}</title><style>{STYLE}</style></head><body>"
            f"{''.join(sections)}<script>{PAGE_SCRIPT}</script></body></html>")
    path = folder / "report.html"
    path.write_text(page)
    return path


INDEX_COLUMNS = ("run", "data", "images", "k", "grid", "combos", "ranked by", "seconds", "ensemble ACC",
                 "top combo")


def write_index(out: Path) -> Path:
    """`out/index.html`: every finished run under `out`, newest first, each linked to its page."""
    import json
    rows = []
    for path in sorted(out.glob("*/run.json"), reverse=True):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # a run folder being written by another run, or damaged: left out
        folder, data, ens = path.parent.name, record["data"], record["ensemble"]
        link = f'<a href="{html.escape(folder)}/report.html">{html.escape(folder)}</a>' \
            if (path.parent / "report.html").exists() else html.escape(folder)
        acc = (ens.get("metrics") or {}).get("acc", float("nan"))  # none without ground truth
        texts = {"run": link, "data": html.escape(data["source"]), "grid": html.escape(record["grid"]["name"]),
                 "ranked by": html.escape(record["args"].get("rank_by", "silhouette")),
                 "top combo": html.escape(ens["members"][0]["combo"] if ens["members"] else "")}
        numbers = {"images": data["shape"][0], "k": data["n_clusters"], "combos": record["grid"]["combos"],
                   "seconds": f"{record['timings_s']['total']:.0f}", "ensemble ACC": _cell(acc)}
        rows.append("<tr>" + "".join(f'<td class="text">{texts[h]}</td>' if h in texts else f"<td>{numbers[h]}</td>"
                                     for h in INDEX_COLUMNS) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in INDEX_COLUMNS)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>bench runs</title><style>{STYLE}"
            f"</style></head><body><h1>bench runs in {html.escape(str(out))}</h1><p>{counted(len(rows), 'run')}, newest "
            f"first; ensemble ACC only where ground truth was given.</p><table><tr>{head}</tr>{''.join(rows)}"
            "</table></body></html>")
    index = out / "index.html"
    tmp = out / f".index.{os.getpid()}.tmp"
    tmp.write_text(page)
    os.replace(tmp, index)  # two runs finishing at once: one whole page wins, never half of each
    return index
