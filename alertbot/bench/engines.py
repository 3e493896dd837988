"""The tools a user would pick instead of a profile index: one search per profile.

Each engine indexes the papers of a tick, then runs every profile as one query and
collects the matching papers, the way a search-engine loop would do it:

- **tantivy** (tantivy-py, a ``bench`` extra): fields analysed with ``en_stem`` (simple
  tokenizer, lower case, Snowball English), queries built with the Query API (term,
  phrase, boolean, boost), prefixes expanded through the term dictionary of unstemmed
  copies of the fields (``terms_with_prefix``), exclusions as ``MustNot``.
- **fts5** (SQLite's full-text index, in the standard library): ``porter unicode61
  remove_diacritics 2``, one ``MATCH`` per profile with column filters, ``NOT`` for
  exclusions, ``"prefix" *`` for prefixes. Weights do not change what matches, so
  FTS5 ignores them.

Both take our parsed query trees, so only analysis differs, and
:mod:`alertbot.bench.agree` says which documented normalisation rule a difference
comes from.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alertbot.match.query import CATEGORY, And, Node, Not, Prefix, Term, parse_query
from alertbot.model import Paper, Profile

Found = dict[int, set[int]]  # profile key -> indices of matching papers


@dataclass(frozen=True)
class EngineRun:
    name: str
    index_seconds: float  # indexing the tick's papers
    search_seconds: float  # building this tick's queries and running one per profile
    cpu_seconds: float  # CPU time of both (the machine may be shared: wall time is noisy)
    found: Found
    skipped: int = 0  # profiles the engine cannot express

    @property
    def seconds(self) -> float:
        return self.index_seconds + self.search_seconds


def _trees(profiles: Mapping[int, Profile]) -> dict[str, Node]:
    texts = {q for p in profiles.values() for q in (*p.interests, *p.exclusions)}
    return {q: parse_query(q).root for q in texts}


# --- tantivy ----------------------------------------------------------------------------

_TEXT = {"ti": ("title",), "abs": ("abstract",), "au": ("authors",), "ta": ("title", "abstract")}


def run_tantivy(
    profiles: Mapping[int, Profile],
    papers: Sequence[Paper],
    clock: Callable[[], float] = time.perf_counter,
) -> EngineRun:
    """Index ``papers`` in a fresh in-memory tantivy index and search once per profile."""
    import tantivy  # the bench extra; never a runtime dependency

    trees = _trees(profiles)
    t0 = clock()
    c0 = time.process_time()
    builder = tantivy.SchemaBuilder()
    for name in ("title", "abstract", "authors"):
        builder.add_text_field(name, tokenizer_name="en_stem")
        builder.add_text_field(name + "_raw", tokenizer_name="default")
    builder.add_text_field("cats", tokenizer_name="raw")
    schema = builder.build()
    index = tantivy.Index(schema)
    writer = index.writer(50_000_000, 1)  # one thread: one segment, ids in insertion order
    for paper in papers:
        authors = ", ".join(paper.authors)
        writer.add_document(
            tantivy.Document(
                title=paper.title,
                title_raw=paper.title,
                abstract=paper.abstract,
                abstract_raw=paper.abstract,
                authors=authors,
                authors_raw=authors,
                cats=[c.casefold() for c in paper.categories] or [""],
            )
        )
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    searcher = index.searcher()
    t1 = clock()
    analyzer = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )
    occur = tantivy.Occur
    expanded: dict[tuple[str, str], list[str]] = {}

    def convert(node: Node) -> Any:
        if isinstance(node, Term):
            if node.field == CATEGORY:
                return tantivy.Query.term_query(schema, "cats", node.stems[0])
            words: list[str | tuple[int, str]] = list(analyzer.analyze(node.display))
            per_field = (
                [
                    tantivy.Query.term_query(schema, f, words[0])
                    if len(words) == 1
                    else tantivy.Query.phrase_query(schema, f, words)
                    for f in _TEXT[node.field]
                ]
                if words
                else [tantivy.Query.empty_query()]
            )
            q = per_field[0] if len(per_field) == 1 else _should(per_field)
            return tantivy.Query.boost_query(q, node.weight) if node.weight != 1 else q
        if isinstance(node, Prefix):
            fields = (
                ("cats",)
                if node.field == CATEGORY
                else tuple(f + "_raw" for f in _TEXT[node.field])
            )
            parts = []
            for f in fields:
                key = (f, node.prefix)
                if key not in expanded:
                    expanded[key] = [t for t, _ in searcher.terms_with_prefix(f, node.prefix)]
                if expanded[key]:
                    parts.append(tantivy.Query.term_set_query(schema, f, expanded[key]))
            q = _should(parts) if parts else tantivy.Query.empty_query()
            return tantivy.Query.boost_query(q, node.weight) if node.weight != 1 else q
        if isinstance(node, Not):
            return tantivy.Query.boolean_query(
                [(occur.Must, tantivy.Query.all_query()), (occur.MustNot, convert(node.child))]
            )
        if isinstance(node, And):
            clauses = [
                (occur.MustNot, convert(c.child))
                if isinstance(c, Not)
                else (occur.Must, convert(c))
                for c in node.children
            ]
            q = tantivy.Query.boolean_query(clauses)
        else:
            q = _should([convert(c) for c in node.children])
        return tantivy.Query.boost_query(q, node.weight) if node.weight != 1 else q

    def _should(qs: list[Any]) -> Any:
        return tantivy.Query.boolean_query([(occur.Should, q) for q in qs])

    queries = {text: convert(root) for text, root in trees.items()}
    found: Found = {}
    n = len(papers)
    for key, profile in profiles.items():
        clauses = [(occur.Should, queries[q]) for q in profile.interests]
        clauses += [(occur.MustNot, queries[q]) for q in profile.exclusions]
        hits = searcher.search(tantivy.Query.boolean_query(clauses), n, count=False).hits
        if hits:
            found[key] = {address.doc for _, address in hits}
    t2 = clock()
    return EngineRun("tantivy", t1 - t0, t2 - t1, time.process_time() - c0, found)


# --- SQLite FTS5 ------------------------------------------------------------------------

_COLUMNS = {"ti": "{title}", "abs": "{abstract}", "au": "{authors}", "ta": "{title abstract}"}


class _Inexpressible(Exception):
    """A query shape FTS5's MATCH syntax has no form for (a NOT inside an OR)."""


def _fts(node: Node) -> str:
    if isinstance(node, Term):
        if node.field == CATEGORY:
            return '{cats} : "' + node.stems[0].replace('"', '""') + '"'
        return f'{_COLUMNS[node.field]} : "' + node.display.replace('"', '""') + '"'
    if isinstance(node, Prefix):
        column = "{cats}" if node.field == CATEGORY else _COLUMNS[node.field]
        return f'{column} : "' + node.prefix.replace('"', '""') + '" *'
    if isinstance(node, Not):
        raise _Inexpressible
    if isinstance(node, And):
        pos = [_fts(c) for c in node.children if not isinstance(c, Not)]
        neg = [_fts(c.child) for c in node.children if isinstance(c, Not)]
        text = "(" + " AND ".join(pos) + ")"
        return text + "".join(f" NOT ({n})" for n in neg)
    return "(" + " OR ".join(_fts(c) for c in node.children) + ")"


def run_fts5(
    profiles: Mapping[int, Profile],
    papers: Sequence[Paper],
    clock: Callable[[], float] = time.perf_counter,
) -> EngineRun:
    """Index ``papers`` in an in-memory FTS5 table and run one MATCH per profile."""
    trees = _trees(profiles)
    matches: dict[int, str] = {}
    skipped = 0
    for key, profile in profiles.items():
        try:
            text = " OR ".join(_fts(trees[q]) for q in profile.interests)
            if profile.exclusions:
                text = f"({text}) NOT (" + " OR ".join(_fts(trees[q]) for q in profile.exclusions)
                text += ")"
        except _Inexpressible:
            skipped += 1
            continue
        matches[key] = text
    t0 = clock()
    c0 = time.process_time()
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE VIRTUAL TABLE papers USING fts5(title, abstract, authors, cats, "
        "tokenize = 'porter unicode61 remove_diacritics 2')"
    )
    db.executemany(
        "INSERT INTO papers(rowid, title, abstract, authors, cats) VALUES (?, ?, ?, ?, ?)",
        [
            (i, p.title, p.abstract, ", ".join(p.authors), " ".join(p.categories))
            for i, p in enumerate(papers)
        ],
    )
    t1 = clock()
    found: Found = {}
    select = "SELECT rowid FROM papers WHERE papers MATCH ?"
    for key, text in matches.items():
        rows = db.execute(select, (text,)).fetchall()
        if rows:
            found[key] = {r[0] for r in rows}
    t2 = clock()
    db.close()
    return EngineRun("fts5", t1 - t0, t2 - t1, time.process_time() - c0, found, skipped)
