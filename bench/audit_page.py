"""The selection audit's page, `audit.html` (self-contained, like a run's report): the rule it
would choose and the command that runs it, heatmaps of rules x tasks (regret, ensemble ACC),
and per task each combo's label-free score against its ACC."""

import html
from pathlib import Path

import numpy as np

from bench.console import counted
from bench.defaults import DEFAULT_RANK, split_rule
from bench.report import STYLE, _cell, _colour, _image


def _heatmap(table, caption: str, lower_is_better: bool, marked: set) -> str:
    """rules x tasks as an HTML table, each cell coloured within its column (greener is better):
    tasks differ in how hard they are, and a column shows which rules do well on that task."""
    values = table.to_numpy(float)
    ranges = []
    for column in values.T:
        finite = column[np.isfinite(column)]
        ranges.append((finite.min(), finite.max()) if finite.size else (0.0, 1.0))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for rule, row in zip(table.index, values):
        cells = "".join(
            f"<td{_colour(-v, -high, -low) if lower_is_better else _colour(v, low, high)}>{_cell(v)}</td>"
            for v, (low, high) in zip(row, ranges))
        style = ' style="font-weight: bold"' if rule in marked else ""
        rows.append(f'<tr{style}><td class="text">{html.escape(rule)}</td>{cells}</tr>')
    return (f'<div class="scroll"><table class="heatmap"><caption>{html.escape(caption)}</caption>'
            f'<tr><th>rule</th>{head}</tr>{"".join(rows)}</table></div>')


def score_plot(folder: Path, audit, rule: str) -> Path:
    """Per task (its first seed), each working combo's `rule` partition score against its ACC:
    the rule's top-1 a red star, the default rule's (if another) a blue triangle."""
    from bench import selection
    from bench.plots import _save, score_axes, score_panels
    runs = list({r.task: r for r in reversed(audit.labelled)}.values())[::-1]  # first seed of each task
    column = split_rule(rule)[1]
    fig, axes = score_panels(len(runs), 3.4, 3.0)
    for ax, run in zip(axes, runs):
        ok = run.table[run.table["status"] == "ok"]
        ax.scatter(ok[column], ok["acc"], s=6, color="grey", alpha=0.5)
        marks = [(rule, "*", "tab:red", "the choice's top-1")]
        if rule != DEFAULT_RANK:
            marks.insert(0, (DEFAULT_RANK, "^", "tab:blue", "the default's top-1"))
        for shown, marker, colour, name in marks:
            top = selection.rank(run.table, shown, run.k).iloc[0]
            ax.scatter([top[column]], [top["acc"]], s=110 if marker == "*" else 50, marker=marker,
                       color=colour, label=name)
        ax.set_title(f"{run.task} (seed {run.seed})", fontsize=9)
        score_axes(ax, column)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{column} (label-free) against ACC, one point per combo", fontsize=10)
    fig.tight_layout()
    return _save(fig, folder / "score_vs_acc.png")


def write_page(folder: Path, audit) -> Path:
    choice = audit.choice
    marked = {choice["rule"], DEFAULT_RANK}
    tasks = audit.tasks
    task_rows = "".join(
        f'<tr><td class="text">{html.escape(t.task)}</td><td>{t.images}</td><td>{t.k}</td>'
        f'<td>{html.escape(", ".join(map(str, t.seeds)))}</td><td>{t.combos}</td><td>{_cell(t.oracle)}</td>'
        f'<td class="text">{html.escape(t.best_combo)}</td></tr>' for t in tasks.itertuples())
    plot = score_plot(folder, audit, choice["rule"])
    method = choice["method"]
    worst = audit.summary.loc[(choice["rule"], method)]
    sections = [
        "<h1>bench selection audit</h1>",
        f"<p>{counted(len(tasks), 'labelled task')}, {counted(len(audit.runs[['task', 'seed']].drop_duplicates()), 'run')}, "
        f"{audit.runs['rule'].nunique()} rules x {audit.runs['method'].nunique()} ensemble methods; "
        f"{audit.seconds:.0f} s. Labels measured each pick; they never ranked.</p>",
        f"<h2>Choice</h2><p><b>{html.escape(choice['rule'])}</b> with the <b>{html.escape(method)}</b> "
        f"ensemble: {html.escape(choice['why'])}. Over these tasks: mean top-1 regret "
        f"{worst['regret']:.3f} (worst {worst['worst_regret']:.3f}), mean ensemble ACC {worst['ensemble']:.3f} "
        f"(worst {worst['worst_ensemble']:.3f}). Run your images with it:</p>"
        f"<pre>{html.escape(choice['command'])}</pre>",
        "<h2>Tasks</h2><table><tr><th>task</th><th>images</th><th>k</th><th>seeds</th><th>combos</th>"
        f"<th>best combo's ACC</th><th>best combo (first seed)</th></tr>{task_rows}</table>",
        f"<h2>Rules x tasks</h2><p>Mean over seeds; rules best first by mean ensemble ACC ({html.escape(method)}); "
        "the choice and the default in bold. Regret: the best combo's ACC minus the rule's top-1's "
        "(lower is better).</p>"
        + _heatmap(audit.table("ensemble", method), f"ensemble ACC ({method})", False, marked)
        + _heatmap(audit.table("regret", method), "top-1 regret", True, marked)
        + _heatmap(audit.table("spearman", method), "Spearman of the rule's order with ACC", False, marked),
        f"<h2>Label-free score against ACC</h2>{_image(plot)}",
    ]
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>bench selection audit</title>"
            f"<style>{STYLE}.scroll {{ max-height: 60vh; overflow: auto; margin-bottom: 1em; }}</style></head>"
            f"<body>{''.join(sections)}</body></html>")
    path = folder / "audit.html"
    path.write_text(page)
    return path

