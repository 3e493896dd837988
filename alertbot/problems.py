"""Mistakes in what people wrote, as one line each: ``where: what (did you mean ...?)``.

pydantic validates both the settings and subscriber descriptions; this turns its
errors into the lines alertbot prints, and suggests the closest known name for a
misspelt one (``hostname`` -> ``host``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from pydantic_core import ErrorDetails


def did_you_mean(word: str, known: Iterable[str]) -> str | None:
    """The known name closest to ``word``, if one is close enough to be a typo."""
    choices = list(known)
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered:  # a case slip: HOST for host
        return lowered[word.lower()]
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return close[0] if close else None


def unknown_key(word: str, known: Iterable[str], *, noun: str = "key") -> str:
    """``unknown key (did you mean 'host'?)`` or, with no close name, the known ones."""
    choices = sorted(known)
    suggestion = did_you_mean(word, choices)
    if suggestion is not None:
        return f"unknown {noun} (did you mean {suggestion!r}?)"
    return f"unknown {noun} (known: {', '.join(choices)})"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def message(error: ErrorDetails, *, show_input: bool = True) -> str:
    """pydantic's message for one error, without its ``Value error,`` prefix.

    A type or range error also says what it was given, so the line can be acted on
    without opening the file.
    """
    text = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if error["type"] in ("value_error", "assertion_error", "missing", "extra_forbidden"):
        return text
    text = text[0].lower() + text[1:] if text else text
    if show_input and "input" in error and not isinstance(error["input"], dict | list):
        text += f", not {_shown(error['input'])}"
    return text
