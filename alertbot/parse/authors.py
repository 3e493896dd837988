"""Author lists written as one string: ``A (Univ X, Dept Y), B, C``.

arXiv's listing feeds put every author in one ``dc:creator``, with affiliations in
parentheses after a name. Commas inside the parentheses belong to the affiliation,
so the list is split only at top-level commas.
"""

from __future__ import annotations

_OPEN = "([{"
_CLOSE = ")]}"


def split_top_level(text: str, separator: str = ",") -> list[str]:
    """``text`` split at ``separator`` outside any brackets, pieces stripped, empties dropped."""
    pieces: list[str] = []
    depth = 0
    start = 0
    for i, char in enumerate(text):
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth = max(0, depth - 1)
        elif char == separator and depth == 0:
            pieces.append(text[start:i])
            start = i + 1
    pieces.append(text[start:])
    return [p.strip() for p in pieces if p.strip()]


def split_creators(text: str) -> list[tuple[str, str]]:
    """(name, affiliation) for each author; the affiliation is "" when none is given.

    ``Jeongjin (Jayjay) Park`` keeps its parenthesis: only a parenthesis that closes
    the entry is read as an affiliation.
    """
    authors: list[tuple[str, str]] = []
    for piece in split_top_level(text):
        name, affiliation = piece, ""
        if piece.endswith(")") and "(" in piece:
            open_at = _matching_open(piece)
            if open_at > 0:
                name, affiliation = piece[:open_at].strip(), piece[open_at + 1 : -1].strip()
        if name:
            authors.append((name, affiliation))
    return authors


def _matching_open(piece: str) -> int:
    """Index of the "(" that the final ")" closes, or -1."""
    depth = 0
    for i in range(len(piece) - 1, -1, -1):
        if piece[i] == ")":
            depth += 1
        elif piece[i] == "(":
            depth -= 1
            if depth == 0:
                return i
    return -1
