"""The interest query language: a recursive-descent parser into a small AST (the lexer
is ``lexer.py``).

Grammar (AND binds tighter than OR; operators are upper case, ``or`` is a word)::

    query   := or_expr
    or_expr := and_expr ("OR" and_expr)*
    and_expr:= unary (["AND"] unary)*
    unary   := ("NOT" | "-") unary | primary
    primary := [field ":"] (WORD ["*"] | '"' phrase '"' | "(" or_expr ")") ["^" number]

Every error is a :class:`QueryError` naming what is wrong and the 1-based column.
Parentheses and ``NOT``/``-`` nest at most :data:`MAX_DEPTH` levels.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from alertbot.match.lexer import QueryError as QueryError
from alertbot.match.lexer import Tok, lex
from alertbot.match.normalise import fold, tokenise

CATEGORY = "cat"  # arXiv categories: whole, case-insensitive values, never scored
# cs.LG, math.AP, hep-th, astro-ph.CO, q-bio.NC; a trailing * makes a category prefix.
_CATEGORY = re.compile(r"[a-z][a-z-]*(?:\.[a-z][a-z-]*)?")
_CATEGORY_PREFIX = re.compile(r"[a-z][a-z-]*\.?(?:[a-z][a-z-]*)?")
DEFAULT_FIELD = "ta"  # title or abstract
MIN_PREFIX = 2
MAX_WEIGHT = 100.0
# Parentheses and NOT/- each nest one level. Real queries use a handful; the cap keeps
# the recursive parser and evaluators far from Python's recursion limit (~235 nested
# groups raised RecursionError before it).
MAX_DEPTH = 32
_NUMBER = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)")


# --- AST --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Term:
    """A word (one stem) or a phrase (consecutive stems) in one field."""

    field: str
    stems: tuple[str, ...]
    display: str
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Prefix:
    """A prefix wildcard (``quantiz*``) on folded, unstemmed words."""

    field: str
    prefix: str
    weight: float = 1.0

    @property
    def display(self) -> str:
        return self.prefix + "*"


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Not:
    child: Node
    weight: float = 1.0


Node = Term | Prefix | And | Or | Not
Atom = Term | Prefix


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed interest: the text the user wrote and its tree."""

    text: str
    root: Node
    n_clauses: int = field(default=0, compare=False)


def atoms(node: Node) -> Iterator[Atom]:
    """Every word, phrase and wildcard in ``node``, negated or not."""
    if isinstance(node, Term | Prefix):
        yield node
    elif isinstance(node, Not):
        yield from atoms(node.child)
    else:
        for child in node.children:
            yield from atoms(child)


def has_required_term(node: Node) -> bool:
    """True when every match must contain at least one positive word, phrase or wildcard."""
    if isinstance(node, Term | Prefix):
        return True
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(has_required_term(c) for c in node.children)
    return all(has_required_term(c) for c in node.children)


# --- parser -----------------------------------------------------------------------------


class _Parser:
    def __init__(self, toks: list[Tok], end_col: int) -> None:
        self.toks = toks
        self.pos = 0
        self.end_col = end_col
        self.n_atoms = 0
        self.depth = 0

    def deeper(self, tok: Tok) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QueryError(
                f"nested more than {MAX_DEPTH} levels deep (parentheses and NOT/-)", tok.col
            )

    def peek(self) -> Tok | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self) -> Tok:
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def starts_operand(self) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind in ("WORD", "PHRASE", "LPAREN", "NOT", "MINUS", "FIELD")

    def parse(self) -> Node:
        first = self.peek()
        if first is None:
            raise QueryError("empty query")
        node = self.or_expr(DEFAULT_FIELD)
        tok = self.peek()
        if tok is not None:  # only a stray ')' can stop or_expr early
            raise QueryError("unmatched ')'", tok.col)
        return node

    def or_expr(self, fld: str) -> Node:
        parts = [self.and_expr(fld)]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.take()
            if not self.starts_operand():
                raise QueryError("OR needs a term after it", tok.col)
            parts.append(self.and_expr(fld))
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_expr(self, fld: str) -> Node:
        tok = self.peek()
        if tok is not None and tok.kind in ("OR", "AND"):
            raise QueryError(f"{tok.kind} needs a term before it", tok.col)
        parts = [self.unary(fld)]
        while (tok := self.peek()) is not None and tok.kind not in ("OR", "RPAREN"):
            if tok.kind == "AND":
                self.take()
                if not self.starts_operand():
                    raise QueryError("AND needs a term after it", tok.col)
            parts.append(self.unary(fld))
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def unary(self, fld: str) -> Node:
        tok = self.peek()
        if tok is not None and tok.kind in ("NOT", "MINUS"):
            self.take()
            if not self.starts_operand():
                what = "NOT" if tok.kind == "NOT" else "'-'"
                raise QueryError(f"{what} needs a term after it", tok.col)
            self.deeper(tok)
            node = Not(self.unary(fld))
            self.depth -= 1
            return node
        return self.primary(fld)

    def primary(self, fld: str) -> Node:
        tok = self.peek()
        if tok is None:
            raise QueryError("a term is missing", self.end_col)
        if tok.kind == "FIELD":
            self.take()
            if fld != DEFAULT_FIELD:
                raise QueryError(f"field {tok.text}: inside another field", tok.col)
            nxt = self.peek()
            if nxt is not None and nxt.kind == "FIELD":
                raise QueryError(f"field {nxt.text}: inside another field", nxt.col)
            if nxt is None or nxt.kind not in ("WORD", "PHRASE", "LPAREN"):
                raise QueryError(f"{tok.text}: needs a word, phrase or group after it", tok.col)
            return self.primary(tok.text)
        self.take()
        node: Node
        if tok.kind == "WORD":
            node = self.word(tok, fld)
        elif tok.kind == "PHRASE":
            node = self.phrase(tok, fld)
        elif tok.kind == "LPAREN":
            if (nxt := self.peek()) is not None and nxt.kind == "RPAREN":
                raise QueryError("empty parentheses", tok.col)
            if nxt is None:
                raise QueryError("unclosed '('", tok.col)
            self.deeper(tok)
            node = self.or_expr(fld)
            self.depth -= 1
            close = self.peek()
            if close is None or close.kind != "RPAREN":
                raise QueryError("unclosed '('", tok.col)
            self.take()
        elif tok.kind == "RPAREN":
            raise QueryError("unmatched ')'", tok.col)
        else:  # CARET with nothing before it is caught by the lexer
            raise QueryError(f"unexpected '{tok.text}'", tok.col)
        if (caret := self.peek()) is not None and caret.kind == "CARET":
            self.take()
            node = _weighted(node, _weight(caret))
        return node

    def word(self, tok: Tok, fld: str) -> Node:
        raw = tok.text
        if fld == CATEGORY:
            return self.category(tok)
        if "*" in raw[:-1]:
            raise QueryError("'*' is only allowed at the end of a word", tok.col + raw.index("*"))
        if raw.endswith("*"):
            parts = tokenise(raw[:-1])
            if not parts:
                raise QueryError("'*' needs a word before it", tok.col + len(raw) - 1)
            if len(parts) > 1:
                raise QueryError(f"wildcard on several words '{raw}'", tok.col)
            prefix = fold(parts[0].surface)
            if len(prefix) < MIN_PREFIX:
                raise QueryError(
                    f"wildcard needs at least {MIN_PREFIX} letters before '*'", tok.col
                )
            self.n_atoms += 1
            return Prefix(fld, prefix)
        parts = tokenise(raw)
        if not parts:
            raise QueryError(f"'{raw}' has no letters or digits", tok.col)
        self.n_atoms += 1
        return Term(fld, tuple(p.stem for p in parts), raw)

    def category(self, tok: Tok) -> Node:
        value = tok.text.casefold()
        self.n_atoms += 1
        if value.endswith("*") and _CATEGORY_PREFIX.fullmatch(value[:-1]):
            return Prefix(CATEGORY, value[:-1])
        if _CATEGORY.fullmatch(value):
            return Term(CATEGORY, (value,), tok.text)
        raise QueryError(
            f"'{tok.text}' is not an arXiv category (like cs.LG, hep-th, or cs.* for all of cs)",
            tok.col,
        )

    def phrase(self, tok: Tok, fld: str) -> Node:
        if fld == CATEGORY:
            raise QueryError("cat: takes a category such as cs.LG, not a phrase", tok.col)
        if "*" in tok.text:
            raise QueryError("wildcards are not allowed inside a phrase", tok.col)
        parts = tokenise(tok.text)
        if not parts:
            raise QueryError("empty phrase", tok.col)
        self.n_atoms += 1
        return Term(fld, tuple(p.stem for p in parts), " ".join(tok.text.split()))


def _weight(caret: Tok) -> float:
    if not _NUMBER.fullmatch(caret.text):
        raise QueryError("'^' needs a number such as ^2", caret.col)
    value = float(caret.text)
    if not 0 < value <= MAX_WEIGHT:
        raise QueryError(f"weight must be above 0 and at most {MAX_WEIGHT:g}", caret.col)
    return value


def _weighted(node: Node, weight: float) -> Node:
    if isinstance(node, Term):
        return Term(node.field, node.stems, node.display, node.weight * weight)
    if isinstance(node, Prefix):
        return Prefix(node.field, node.prefix, node.weight * weight)
    if isinstance(node, And):
        return And(node.children, node.weight * weight)
    if isinstance(node, Or):
        return Or(node.children, node.weight * weight)
    return Not(node.child, node.weight * weight)


def parse_query(text: str, *, max_length: int = 500, max_clauses: int = 40) -> Query:
    """Parse one interest (or exclusion) into a :class:`Query`, or raise :class:`QueryError`.

    Rejects queries longer than ``max_length`` characters, with more than ``max_clauses``
    words/phrases/wildcards, or with no positive term that every match must contain.
    """
    if len(text) > max_length:
        raise QueryError(f"query is {len(text)} characters long; the limit is {max_length}")
    if text.lstrip()[:5].lower() == "like:":
        from alertbot.match.like import like_query  # like.py builds on this module

        return like_query(text)
    parser = _Parser(lex(text), len(text) + 1)
    root = parser.parse()
    if parser.n_atoms > max_clauses:
        raise QueryError(f"query has {parser.n_atoms} terms; the limit is {max_clauses}")
    if not has_required_term(root):
        raise QueryError(
            "query has no positive term: every alternative needs a word or phrase that "
            "matching papers must contain ('-survey' alone would match almost everything)"
        )
    return Query(text, root, parser.n_atoms)
