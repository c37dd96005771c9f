"""The selection audit: on labelled tasks like the user's, how well would each label-free
ranking rule, with each ensemble method, have picked? Per run (a task at a seed) and rule: the
top-1's ACC against the best combo's (regret), the rule's order against ACC (Spearman), the
ensemble it would vote and its best member. Labels measure here; they never rank.

`python -m bench.audit` is `run_audit` (or, on finished runs, `audit_runs`) with flags. Either
way each run is evaluated from its run folder, so a finished run audits exactly as it did when
it was computed.
"""

import shlex
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from bench.defaults import DEFAULT_RANK, METHODS, MIN_NMI, MIN_SHARE, RULES, ranked_columns, split_rule
from bench.errors import UserError, not_a_rule, unknown_name

# a rule replaces the default only when its mean ensemble ACC is ahead by more than this: the
# best of 510 rules and methods on a few tasks is ahead by chance alone, and a seed moves a task by ~0.02
MARGIN = 0.01
ONE_TASK = "[yellow]warning[/]: one task is weak evidence for choosing a rule; audit several of your kind of images"
LABELS_FILE = "combo_labels.npz"  # written by Result.write: each combo's labels and the truth


# what a run was made with that the audit's choice must be run with too (run.json's args)
SETTINGS = {"grid": "quick", "no_pretrained": False, "epochs": None, "plateau": None, "top_k": 5,
            "min_nmi": MIN_NMI, "min_share": MIN_SHARE}


class NotAuditable(UserError):
    """A finished run that the audit cannot use: made without labels, or before bench kept
    each combo's labels."""


@dataclass
class LabelledRun:
    """A finished run with ground truth: its leaderboard, each combo's labels, the truth, and
    the settings it ran with (SETTINGS)."""
    task: str
    seed: int
    k: int
    table: pd.DataFrame
    labels: dict  # combo -> labels
    truth: np.ndarray
    folder: Path | None
    settings: dict = field(default_factory=lambda: dict(SETTINGS))
    fingerprint: str = ""  # of the images: two tasks of one name must be one task


def _task_name(data: dict) -> str:
    """A run's task: the file or folder name of its data (an array: by its fingerprint)."""
    source = data["source"]
    if source.startswith("array ("):
        return f"array-{data['fingerprint'][:8]}"
    return Path(source.rstrip("/")).stem if any(c in source for c in "/.") else source


def read_run(folder, task: str | None = None) -> LabelledRun:
    """A run folder as the audit needs it: a UserError if it is not a finished run, NotAuditable
    if it is one the audit cannot use. `task` names it (default `_task_name`)."""
    from bench.show import read_run as read_finished
    folder = Path(folder)
    record, table = read_finished(folder)
    try:
        data, args = record["data"], record["args"]
        if not data.get("ground_truth") or "acc" not in table:
            raise NotAuditable(f"{folder}: ran without labels")
        if not (folder / LABELS_FILE).exists():
            raise NotAuditable(f"{folder}: has no {LABELS_FILE} (written before bench kept each combo's labels)")
        with np.load(folder / LABELS_FILE, allow_pickle=False) as arrays:
            labels = dict(zip(arrays["combo"].tolist(), arrays["labels"]))
            truth = arrays["truth"]
        settings = {name: args.get(name, default) for name, default in SETTINGS.items()}
        return LabelledRun(task or _task_name(data), int(args["seed"]), int(data["n_clusters"]), table, labels,
                           truth, folder, settings, data.get("fingerprint", ""))
    except (KeyError, TypeError, ValueError, OSError) as e:
        raise UserError(f"{folder}: not a finished run folder ({e.__class__.__name__}: {e})") from None


def defined(table: pd.DataFrame, rule: str, k: int | None = None) -> bool:
    """Whether every column `rule` ranks by at `k` clusters has a value for some working combo
    (else it would rank by combo name alone); the `global` level counts at k = 2 only."""
    ok = table[table["status"] == "ok"]
    return all(c in ok and ok[c].notna().any() for c in ranked_columns(rule, k))


def evaluate(run: LabelledRun, rules=RULES, methods=("vote",)) -> list[dict]:
    """One row per rule and method: what `run`, ranked by the rule, would have chosen (with the
    run's own --top-k and --min-nmi), measured by ACC."""
    from scipy.stats import spearmanr

    from bench import ensemble, scoring, selection
    ok = run.table[run.table["status"] == "ok"]
    oracle = float(ok["acc"].max())
    voted = {}  # (method, members, weights) -> ACC: many rules choose the same members
    rows = []
    for rule in rules:
        ranked, members, _ = selection.pick(run.table, run.labels, rule, run.k, run.settings["top_k"],
                                            run.settings["min_nmi"])
        acc = ranked["acc"].to_numpy(float)
        defined = len(acc) > 2 and np.ptp(acc) > 0
        rho = float(spearmanr(-ranked["rank"], acc).statistic) if defined else np.nan
        chosen = ranked.set_index("combo").loc[members]
        for method in methods:
            weights = tuple(chosen[split_rule(rule)[1]]) if method == "weighted" else ()
            key = (method, tuple(members), weights)
            if key not in voted:
                labels, _ = ensemble.combine(method, [run.labels[c] for c in members], list(weights), run.k,
                                             0, run.seed)
                voted[key] = scoring.accuracy(run.truth, labels)
            rows.append({"task": run.task, "seed": run.seed, "rule": rule, "method": method,
                         "top1": acc[0], "oracle": oracle, "regret": oracle - acc[0], "spearman": rho,
                         "ensemble": voted[key], "best_member": float(chosen["acc"].max()),
                         "top_combo": ranked["combo"].iloc[0]})
    return rows


@dataclass
class Audit:
    """What the audit found. `runs`: one row per run, rule and method (audit.csv); `tasks`: one
    row per task; `summary`: one row per rule and method, over the tasks; `choice`: the rule and
    method it would run these tasks' kind of images with, and why."""
    runs: pd.DataFrame
    tasks: pd.DataFrame
    settings: dict  # what the runs were made with (SETTINGS)
    labelled: list = field(repr=False, default_factory=list)  # LabelledRun of each run
    undefined: list = field(default_factory=list)  # rules left out: a column without values in some run
    seconds: float = 0.0
    out: object = "results"  # where write() puts the audit folder by default: run_audit's `out`

    def table(self, metric: str = "regret", method: str = "vote") -> pd.DataFrame:
        """rule x task: the mean over seeds of `metric`, with the mean (and the worst) over tasks;
        rules in the summary's order."""
        metrics = [c for c in ("regret", "ensemble", "spearman", "top1", "oracle", "best_member") if c in self.runs]
        if metric not in metrics:
            raise UserError(f"metric {metric!r}: not one of {', '.join(metrics)}")
        if method not in set(self.runs["method"]):
            raise UserError(f"method {method!r}: not audited here ({', '.join(sorted(set(self.runs['method'])))})")
        part = self.runs[self.runs["method"] == method]
        table = part.groupby(["rule", "task"])[metric].mean().unstack("task")
        tasks = list(table.columns)
        table["mean"] = table[tasks].mean(axis=1)
        table["worst"] = table[tasks].max(axis=1) if metric == "regret" else table[tasks].min(axis=1)
        order = [r for r, m in self.summary.index if m == method]
        return table.loc[order]

    @cached_property  # the tables, the page and the choice all read it
    def summary(self) -> pd.DataFrame:
        """Per (rule, method), over the tasks (each the mean of its seeds): mean and worst regret,
        mean and worst ensemble ACC, the worst gap to the task's best rule's ensemble, mean
        Spearman; best first (mean ensemble ACC, then mean regret)."""
        per_task = self.runs.groupby(["rule", "method", "task"])[["regret", "ensemble", "spearman"]].mean()
        best = per_task["ensemble"].groupby("task").transform("max")
        per_task["gap"] = best - per_task["ensemble"]
        grouped = per_task.groupby(["rule", "method"])
        out = pd.DataFrame({"regret": grouped["regret"].mean(), "worst_regret": grouped["regret"].max(),
                            "ensemble": grouped["ensemble"].mean(), "worst_ensemble": grouped["ensemble"].min(),
                            "worst_gap": grouped["gap"].max(), "spearman": grouped["spearman"].mean()})
        # ties: the default rule first, then the simpler method, then by name (the groupby's
        # order), so the choice never depends on the order the runs came in
        tie = pd.DataFrame({"not_default": [r != DEFAULT_RANK for r, _ in out.index],
                            "method_order": [METHODS.index(m) for _, m in out.index]}, index=out.index)
        order = pd.concat([-out["ensemble"], out["regret"], tie], axis=1)
        return out.loc[order.sort_values(list(order.columns), kind="stable").index]

    @cached_property
    def choice(self) -> dict:
        """The rule and method to run with: the best by mean ensemble ACC if it beats the default's
        (vote) by more than MARGIN, else the default."""
        summary = self.summary
        best = summary.index[0]
        default = (DEFAULT_RANK, "vote")
        if default not in summary.index:
            rule, method = best
            ties = int((summary["ensemble"] == summary.loc[best, "ensemble"]).sum()) - 1
            reason = ("its scores have no values in these runs (one combo per encoder leaves "
                      "encoder_agreement none)" if DEFAULT_RANK in self.undefined else "it was not asked for")
            why = (f"the best by mean ensemble ACC ({summary.loc[best, 'ensemble']:.3f}"
                   + (f", which {ties} more reach too" if ties else "")
                   + f"); the default ({DEFAULT_RANK}, vote) was not audited: {reason}")
        elif summary.loc[best, "ensemble"] - summary.loc[default, "ensemble"] > MARGIN:
            rule, method = best
            why = (f"mean ensemble ACC {summary.loc[best, 'ensemble']:.3f} against the default's "
                   f"{summary.loc[default, 'ensemble']:.3f}")
        else:
            rule, method = default
            why = (f"no rule's mean ensemble ACC beats the default's ({summary.loc[default, 'ensemble']:.3f}) "
                   f"by more than {MARGIN} (best: {best[0]}, {best[1]}, {summary.loc[best, 'ensemble']:.3f})")
        return {"rule": rule, "method": method, "why": why, "command": self.command(rule, method),
                **{k: float(v) for k, v in summary.loc[(rule, method)].items()}}

    def command(self, rule: str, method: str) -> str:
        """The bench.run command for your images with `rule` and `method`, and the settings the
        audited runs were made with."""
        from bench.grids import NAMED_GRIDS
        s = self.settings
        grid = str(s["grid"]) if s["grid"] in NAMED_GRIDS or Path(str(s["grid"])).is_file() else "YOUR_GRID"
        parts = ["python -m bench.run --data YOUR_IMAGES", f"--grid {shlex.quote(grid)}",
                 "--no-pretrained" if s["no_pretrained"] else "", f"--rank-by {shlex.quote(rule)}",
                 f"--ensemble {method}" if method != "vote" else "",
                 *(f"--{name.replace('_', '-')} {s[name]}" for name in ("epochs", "plateau", "top_k", "min_nmi",
                                                                         "min_share") if s[name] != SETTINGS[name])]
        return " ".join(p for p in parts if p)

    def write(self, out=None) -> Path:
        """A folder under `out` (default: run_audit's `out`, else results) with audit.csv,
        audit.json and audit.html; returns its path."""
        from bench.export import RunFolder, check_writable
        out = Path(out if out is not None else self.out)
        check_writable(out)
        folder = RunFolder(out, "audit")
        try:
            _write_files(folder, self)
            return folder.commit()
        except BaseException:
            folder.discard()
            raise

    def _repr_html_(self) -> str:
        choice = self.choice
        return (f"<p><b>choice</b>: {choice['rule']} ({choice['method']}): {choice['why']}</p>"
                + self.table("ensemble", choice["method"]).head(10).to_html(float_format="%.3f", border=0))


def _write_files(folder, audit: Audit) -> None:
    from bench.audit_page import write_page
    folder.write_table("audit.csv", audit.runs)
    folder.write_json("audit.json", {"choice": audit.choice, "seconds": round(audit.seconds, 1),
                                     "settings": audit.settings, "undefined_rules": audit.undefined,
                                     "tasks": audit.tasks.to_dict("records"),
                                     "summary": audit.summary.reset_index().to_dict("records")})
    write_page(folder.staging, audit)


def check_rules(rules, methods) -> tuple[list, list]:
    """The rules and methods to audit (default: all), each checked; one UserError naming a bad one."""
    rules, methods = list(rules or RULES), list(methods or METHODS)
    for rule in rules:
        if rule not in RULES:
            raise not_a_rule("rule (--rules)", rule)
    for method in methods:
        if method not in METHODS:
            raise unknown_name("ensemble method", method, METHODS)
    return rules, methods


def _audit(labelled: list[LabelledRun], rules, methods, started, console=None) -> Audit:
    """Check that the runs fit together (one per task and seed, the same settings), then
    evaluate each under every rule defined in all of them."""
    seen, images = {}, {}
    for run in labelled:
        if images.setdefault(run.task, run.fingerprint) != run.fingerprint:
            raise UserError(f"two tasks are named {run.task!r} (from their file names) but hold other images "
                            f"({run.folder}): audit them apart, or rename one")
        if (run.task, run.seed) in seen:
            raise UserError(f"task {run.task} seed {run.seed}: two runs ({seen[run.task, run.seed]} and "
                            f"{run.folder}); give one of each")
        seen[run.task, run.seed] = run.folder
    for name in SETTINGS:
        values = {str(r.settings[name]) for r in labelled}
        if len(values) > 1:
            raise UserError(f"the runs differ in {name} ({', '.join(sorted(values))}): audit runs made alike, "
                            "so that the choice can be run the same way")
    if len({r.task for r in labelled}) == 1 and console is not None:
        console.print(ONE_TASK)
    undefined = [r for r in rules if not all(defined(run.table, r, run.k) for run in labelled)]
    rules = [r for r in rules if r not in undefined]
    if not rules:
        raise UserError(f"no rule to audit: {', '.join(undefined)} rank by columns without values in these runs")
    rows = [row for run in labelled for row in evaluate(run, rules, methods)]
    tasks = []
    for task in dict.fromkeys(r.task for r in labelled):
        runs = [r for r in labelled if r.task == task]
        ok = [r.table[r.table["status"] == "ok"] for r in runs]
        tasks.append({"task": task, "images": len(runs[0].truth), "k": runs[0].k,
                      "seeds": [r.seed for r in runs], "combos": len(runs[0].table),
                      "oracle": float(np.mean([t["acc"].max() for t in ok])),
                      "best_combo": ok[0].sort_values("acc", ascending=False, kind="stable")["combo"].iloc[0],
                      "runs": [str(r.folder) for r in runs]})
    return Audit(pd.DataFrame(rows), pd.DataFrame(tasks), dict(labelled[0].settings), labelled, undefined,
                 time.perf_counter() - started)


def run_folders(paths) -> list[Path]:
    """The finished run folders at or below `paths` (as `results/` or a shell glob such as
    results/* gives them), in name order; files (index.html) and folders being written (hidden
    ones) are passed over."""
    found = []
    for path in map(Path, paths):
        if not path.exists():
            raise UserError(f"{path}: no such run folder")
        if path.is_dir():
            found += [p.parent for p in sorted(path.rglob("run.json"))
                      if not any(part.startswith(".") for part in p.parent.relative_to(path).parts)]
    return list(dict.fromkeys(found))


def audit_runs(paths, *, rules=None, methods=None, console=None) -> Audit:
    """The audit of finished runs (`paths`: run folders, or folders holding them), nothing
    recomputed; runs it cannot use (no labels, or from before combo_labels.npz) are passed over,
    with a note. Each run is replayed with its own settings (--top-k, --min-nmi)."""
    started = time.perf_counter()
    rules, methods = check_rules(rules, methods)
    labelled, passed = [], []
    for folder in run_folders(paths):
        try:
            labelled.append(read_run(folder))
        except NotAuditable as e:
            passed.append(str(e))
    if passed and console is not None:
        console.print(f"[yellow]passed over[/] {len(passed)} run(s): {passed[0]}" + (", ..." if len(passed) > 1 else ""))
    if not labelled:
        raise UserError(f"no labelled run at or below {', '.join(map(str, paths))}; the audit needs runs given "
                        "labels (--labels, or an .npz with 'y')" + (f" ({passed[0]})" if passed else ""))
    return _audit(labelled, rules, methods, started, console)


def _tasks(tasks) -> list[tuple[str, object, object]]:
    """(name, images, labels) of each task: a path (an .npz with y), (images, labels), or
    IMAGES:LABELS text; a dict names them."""
    items = tasks.items() if isinstance(tasks, dict) else [(None, t) for t in tasks]
    out = []
    for name, task in items:
        if isinstance(task, tuple):
            if len(task) != 2:
                raise UserError(f"task {name or len(out) + 1}: a tuple of {len(task)}; give (images, labels)")
            images, labels = task
        elif isinstance(task, (str, Path)) and not Path(task).exists() and ":" in str(task):
            images, labels = str(task).rsplit(":", 1)
        else:
            images, labels = task, None
        if name is None:
            name = Path(images).stem if isinstance(images, (str, Path)) else f"task {len(out) + 1}"
        out.append((name, images, labels))
    names = [n for n, _, _ in out]
    if len(set(names)) < len(names):
        raise UserError(f"two tasks are named {max(names, key=names.count)!r} (from their file names): rename one "
                        "(in Python: name them in a dict)")
    return out


def run_audit(tasks, *, grid="quick", seeds=(0,), rules=None, methods=None, n_clusters: int | None = None,
              top_k: int = 5, min_nmi: float = MIN_NMI, out="results", console=None, progress: bool = True,
              **run_options) -> Audit:
    """Run `grid` on each labelled task at each seed (through the stage cache, as `run_grid`),
    keep each run's folder under OUT/audit-runs, and audit them.

    `tasks`: paths (an .npz with `x` and `y`, or IMAGES:LABELS for a folder or .npy and a labels
    file), (images, labels) pairs, or a dict of names to either. `rules`, `methods`: those to
    audit (default: every ranking rule and ensemble method). `run_options`: `run_grid`'s."""
    from bench.api import check_classes, run_grid
    from bench.console import make_console
    from bench.data import load_dataset
    started = time.perf_counter()
    rules, methods = check_rules(rules, methods)
    console = console or make_console(quiet=not progress)
    tasks = _tasks(tasks)
    if not tasks:
        raise UserError("no tasks to audit")
    seeds = list(seeds)
    if len(set(seeds)) < len(seeds):  # said now, not after running every task twice
        raise UserError(f"seeds {seeds}: seed {max(seeds, key=seeds.count)} is given twice")
    named = {}  # fingerprint -> task
    for name, images, labels in tasks:  # every task's problems before the first grid runs
        dataset = load_dataset(images, labels)
        if dataset.y is None:
            raise UserError(f"task {name}: no labels (an .npz needs 'y'; else give IMAGES:LABELS)")
        try:
            check_classes(dataset, n_clusters)
        except UserError as e:
            raise UserError(f"task {name}: {e}") from None
        if dataset.fingerprint in named:  # it would count as evidence twice
            raise UserError(f"tasks {named[dataset.fingerprint]} and {name}: the same images; give each once")
        named[dataset.fingerprint] = name
    if len(tasks) == 1:  # said before the runs, not after them
        console.print(ONE_TASK)
    runs_out = Path(out) / "audit-runs" / time.strftime("%Y%m%d-%H%M%S")  # this audit's runs together
    labelled = []
    for seed in seeds:
        for name, images, labels in tasks:
            console.rule(f"task {name}, seed {seed}")
            result = run_grid(images, n_clusters, grid=grid, labels=labels, seed=seed, top_k=top_k,
                              min_nmi=min_nmi, out=out, progress=progress, console=console, **run_options)
            labelled.append(read_run(result.write(runs_out, plots=False), task=name))
    audit = _audit(labelled, rules, methods, started)
    audit.out = out  # write() puts the audit beside its runs
    return audit
