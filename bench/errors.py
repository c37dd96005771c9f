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
