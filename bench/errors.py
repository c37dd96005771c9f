"""The one exception type that the CLI turns into a one-line message and exit code 2."""

import difflib
from collections.abc import Iterable


class UserError(Exception):
    """Bad input from the user: a file, a flag, a grid. The message is shown as is."""


def unknown_name(kind: str, name: str, known: Iterable[str]) -> UserError:
    """'unknown grid 'qick' (did you mean 'quick'?); known: ...'"""
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return UserError(f"unknown {kind} {name!r}{hint}; known: {', '.join(known)}")


def not_a_rule(what: str, rule: str) -> UserError:
    """'WHAT 'silhouete': not a ranking rule (did you mean 'silhouette'?); ...': the forms of a
    rule are named, not each of the 170."""
    from bench.defaults import DEFAULT_RANK, RULES, SCORES
    close = difflib.get_close_matches(rule, RULES, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return UserError(f"{what} {rule!r}: not a ranking rule{hint}; a rule is a score ({', '.join(SCORES)}) "
                     f"or levels such as '{DEFAULT_RANK}'")
