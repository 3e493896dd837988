"""The interest query language's lexer: a query's text into tokens with their columns,
and the error every step of reading a query raises (:class:`QueryError`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

FIELDS: dict[str, str] = {
    "ti": "ti",
    "title": "ti",
    "abs": "abs",
    "abstract": "abs",
    "au": "au",
    "author": "au",
    "cat": "cat",
}
_OPERATORS = frozenset({"OR", "AND", "NOT"})
_RUN_STOP = frozenset('"()^') | frozenset(" \t\r\n\f\v")


class QueryError(ValueError):
    """A query the parser refuses, with a message that says what and where."""

    def __init__(self, message: str, column: int | None = None) -> None:
        self.message = message
        self.column = column
        super().__init__(f"{message} at column {column}" if column is not None else message)


@dataclass(frozen=True, slots=True)
class Tok:
    kind: str  # WORD PHRASE LPAREN RPAREN OR AND NOT MINUS FIELD CARET
    text: str
    col: int


def lex(text: str) -> list[Tok]:
    """The query's tokens, each with its 1-based column; :class:`QueryError` on an
    unclosed quote, a stray '^', or an unknown field."""
    toks: list[Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        col = i + 1
        if c.isspace():
            i += 1
        elif c == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise QueryError("unclosed quote", col)
            toks.append(Tok("PHRASE", text[i + 1 : end], col))
            i = end + 1
        elif c in "()":
            toks.append(Tok("LPAREN" if c == "(" else "RPAREN", c, col))
            i += 1
        elif c == "^":
            j = i + 1
            while j < n and text[j] not in _RUN_STOP:
                j += 1
            glued = bool(toks) and toks[-1].kind in ("WORD", "PHRASE", "RPAREN")
            if not glued or i == 0 or text[i - 1].isspace():
                raise QueryError("'^' must follow a word, phrase or group", col)
            toks.append(Tok("CARET", text[i + 1 : j], col))
            i = j
        else:
            j = i
            while j < n and text[j] not in _RUN_STOP:
                j += 1
            toks.extend(lex_run(text[i:j], col))
            i = j
    return toks


def lex_run(run: str, col: int) -> Iterator[Tok]:
    """One whitespace-delimited chunk: operators, '-' prefixes, field prefixes, a word."""
    while run.startswith("-"):
        yield Tok("MINUS", "-", col)
        run, col = run[1:], col + 1
    if not run:
        return
    if run in _OPERATORS:
        yield Tok(run, run, col)
        return
    name, colon, rest = run.partition(":")
    if colon:
        if name.lower() == "like":
            raise QueryError(
                'like: stands alone as an interest (like:2405.12345 or like:"a title")', col
            )
        if name.lower() not in FIELDS:
            raise QueryError(
                f"unknown field '{name}:' (use ti:, abs:, au: or cat:, or quote the text)", col
            )
        yield Tok("FIELD", FIELDS[name.lower()], col)
        if rest:
            yield from lex_run(rest, col + len(name) + 1)
        return
    yield Tok("WORD", run, col)
