"""`python -m bench.audit`: on your own labelled tasks, how well does each label-free ranking rule
pick, and which would bench run your kind of images with? Each task's grid runs through the
stage cache (as `python -m bench.run` with its labels), or finished labelled runs are read back
(`--runs`); then every rule and ensemble method is scored by the labels (bench.selection_audit)."""

import argparse
import os
import sys

from bench.defaults import DEFAULT_RANK, METHODS, MIN_NMI, MIN_SHARE
from bench.run import DefaultsShown, OneLineParser, _at_least, _fraction, _non_negative, _positive, as_command

SHOWN = 10  # rules in the console's tables; all of them in audit.csv and the page
# how the tasks' runs are made: flags for --data only (finished runs were made already)
RUN_ONLY = ("grid", "seeds", "n_clusters", "epochs", "no_pretrained", "top_k", "min_nmi", "min_share", "cache")


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m bench.audit", description=__doc__,
                      formatter_class=DefaultsShown)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", nargs="+", metavar="TASK", help="labelled tasks: an .npz with 'x' and "
                        "'y', or IMAGES:LABELS (a folder or .npy, and labels as bench.run's --labels takes them)")
    source.add_argument("--runs", nargs="+", metavar="FOLDER", help="finished labelled run folders to "
                        "audit as they are, nothing recomputed (e.g. results/audit-runs/*)")
    p.add_argument("--grid", help="the grid each task runs, as in python -m bench.run (default: quick)")
    p.add_argument("--seeds", type=_non_negative, nargs="+", help="seeds each task runs with (default: 0)")
    p.add_argument("--rules", nargs="+", metavar="RULE", help="ranking rules to audit, each quoted "
                   "(default: every --rank-by rule)")
    p.add_argument("--methods", nargs="+", choices=METHODS, help="ensemble methods to audit (default: all)")
    p.add_argument("--n-clusters", type=_at_least(2), help="clusters to find in every task; default: "
                   "each task's class count")
    p.add_argument("--epochs", type=_positive, help="override training epochs of every trainable encoder")
    p.add_argument("--no-pretrained", action="store_true", help="leave out encoders with outside weights")
    p.add_argument("--top-k", type=_positive, help="ensemble members, as in bench.run (default: 5)")
    p.add_argument("--min-nmi", type=_fraction, help=f"members' NMI to the top one, as in bench.run (default: {MIN_NMI})")
    p.add_argument("--min-share", type=_fraction, help="degenerate-partition guard, as in bench.run "
                   f"(default: {MIN_SHARE})")
    p.add_argument("--jobs", type=_positive, default=os.cpu_count() or 1, help="parallel workers")
    p.add_argument("--backend", default="loky", help="joblib backend, as in bench.run")
    p.add_argument("--out", default="results", help="the audit folder goes here, the tasks' runs "
                   "under OUT/audit-runs")
    p.add_argument("--cache", help="stage cache folder (default OUT/cache, shared with bench.run)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    return p


def report(audit, path, console) -> None:
    from rich.table import Table

    from bench.console import _num
    summary, choice = audit.summary, audit.choice
    shown = list(summary.index[:SHOWN])
    for key in ((DEFAULT_RANK, "vote"), (choice["rule"], choice["method"])):
        if key in summary.index and key not in shown:
            shown.append(key)
    table = Table(title=f"rules over {len(audit.tasks)} task(s), best first of {len(summary)} (all in "
                  "audit.csv)", title_justify="left")
    table.add_column("rule (ensemble method)", ratio=1)
    for column in ("ens ACC", "worst", "regret", "worst"):
        table.add_column(column, justify="right", no_wrap=True)
    for rule, method in shown:
        row = summary.loc[(rule, method)]
        mark = ", the default" if (rule, method) == (DEFAULT_RANK, "vote") else ""
        table.add_row(f"{rule} ({method}{mark})", *(_num(row[c]) for c in ("ensemble", "worst_ensemble",
                                                                            "regret", "worst_regret")))
    console.print(table)
    # per task, the default beside the task's own best rule: does one rule win everywhere?
    ensembles, regrets = audit.table("ensemble", "vote"), audit.table("regret", "vote")
    tasks = [c for c in ensembles.columns if c not in ("mean", "worst")]
    table = Table(title="per task (vote, mean over seeds): best combo's ACC, the default's regret and "
                  "ensemble ACC, the task's best rule", title_justify="left")
    table.add_column("task", no_wrap=True)
    for column in ("best", "regret", "ens"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("best rule here", ratio=1)
    table.add_column("ens", justify="right", no_wrap=True)
    oracle = audit.tasks.set_index("task")["oracle"]
    for task in tasks:
        default = (_num(regrets.loc[DEFAULT_RANK, task]), _num(ensembles.loc[DEFAULT_RANK, task])) \
            if DEFAULT_RANK in ensembles.index else ("-", "-")
        best = ensembles[task].idxmax()
        table.add_row(task, _num(oracle[task]), *default, best, _num(ensembles.loc[best, task]))
    console.print(table)
    console.print(f"[bold]choice[/] {choice['rule']} ({choice['method']}): {choice['why']}")
    console.print(f"  run with it: {choice['command']}")
    console.print(f"[bold]audit[/] {path}/ (audit.html, audit.csv, audit.json), {audit.seconds:.0f} s")


def main(argv=None) -> int:
    from bench.console import make_console
    args = parser().parse_args(argv)
    console = make_console(args.quiet)

    def body() -> int:
        from bench import selection_audit
        from bench.errors import UserError
        if args.runs:
            given = [f"--{k.replace('_', '-')}" for k in RUN_ONLY if getattr(args, k) not in (None, False)]
            if given:
                raise UserError(f"{given[0]} is for --data: --runs audits finished runs as they were made")
            audit = selection_audit.audit_runs(args.runs, rules=args.rules, methods=args.methods, console=console)
        else:
            options = {k: getattr(args, k) for k in ("top_k", "min_nmi", "min_share") if getattr(args, k) is not None}
            audit = selection_audit.run_audit(
                args.data, grid=args.grid or "quick", seeds=args.seeds or [0], rules=args.rules, methods=args.methods,
                n_clusters=args.n_clusters, out=args.out, console=console, progress=not args.quiet,
                epochs=args.epochs, pretrained=not args.no_pretrained, jobs=args.jobs, backend=args.backend,
                cache=args.cache, **options)
        report(audit, audit.write(args.out), console)
        return 0
    return as_command(body)


if __name__ == "__main__":
    sys.exit(main())
