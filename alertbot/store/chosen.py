"""The matches an outbox row was queued with, as the row stores them (``outbox.matches``).

What the dispatcher decided is stored, not recomputed at send time: which papers the
digest holds, in digest order, and the score of each. Two forms:

* **bare** (what the dispatcher writes for a keyword-ranked digest): the profile's
  interests, the papers and their scores, as :class:`Bare` keeps them::

      {"interests": [interest, ...], "papers": [paper_id, ...], "scores": [score, ...]}

  Which interests are true on each paper, and the terms and spans to highlight, follow
  from the interests' text and the paper's text alone, so the sender works them out
  (``alertbot.match.Explainer``, each (interest, paper) once however many readers
  share it). The spans then always point into the text being rendered, even where a
  later listing repaired the paper in between.
* **explained** (a digest the learned ranking or ``like:`` interests ordered, whose
  reasons are not in any query's text, and every row queued before bare rows): each
  paper with its interests and hits, one array per paper::

      [paper_id, score, [interest, ...], [[interest_index, field, term, [start, end, ...]], ...]]

  ``interest_index`` points into that paper's interests (a hit whose interest is not
  among them, which the matcher never makes, keeps its text instead); spans are
  flattened ``(start, end)`` pairs.

Scores are written with ``repr`` and read back bit for bit.

Why bare: a tick stores up to cap x subscribers matches (2,000,000 at 100,000 readers).
Explaining each at queue time was a third of a 100,000-reader tick and ~3 kB a row
(``alertbot bench tick``); a sender explains only the digests it sends, and shares the
work between readers. :class:`MatchEncoder` still writes the explained form, each
shared hit's JSON once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from alertbot.model import Hit, Match

_FIELDS: frozenset[str] = frozenset({"title", "abstract", "authors"})


def dumps(value: object) -> str:
    """JSON text of ``value`` (as the outbox's JSON columns are written)."""
    # orjson: a tick writes 100,000s of these, mostly scores, and the stdlib's float repr
    # was a third of the rows' cost; the same shortest round-trip text, UTF-8 as written.
    return orjson.dumps(value).decode()


class StoredMatchesError(ValueError):
    """An outbox row's ``matches`` column is not what :func:`encode` writes."""


class MatchEncoder:
    """Encodes the matches of many rows, writing each distinct piece's JSON once.

    Matches and hits are remembered by identity: the matcher hands the same ``Match`` to
    every profile with the same interests true on a paper, and the same ``Hit`` to every
    profile that shares an interest and a paper. The memo keeps each alive, so an id is
    never reused while it is remembered; use one encoder per batch of rows.
    """

    def __init__(self) -> None:
        self._matches: dict[int, tuple[Match, str]] = {}
        self._hits: dict[int, tuple[Hit, str]] = {}
        self._strings: dict[str, str] = {}
        self._interests: dict[tuple[str, ...], str] = {}

    def encode(self, matches: Sequence[Match]) -> str:
        """One row's ``matches`` column."""
        return "[" + ",".join([self._match(m) for m in matches]) + "]"

    def _match(self, match: Match) -> str:
        # The matcher shares one Match between the readers that have it (same paper,
        # same interests true there, same score): its JSON is written once.
        found = self._matches.get(id(match))
        if found is None or found[0] is not match:
            found = self._matches[id(match)] = (match, self._write(match))
        return found[1]

    def _write(self, match: Match) -> str:
        interests = match.interests
        pid = self._strings.get(match.paper_id)
        if pid is None:
            pid = self._strings[match.paper_id] = dumps(match.paper_id)
        names = self._interests.get(interests)
        if names is None:
            names = self._interests[interests] = dumps(list(interests))
        hits = ",".join([self._hit(hit, interests) for hit in match.hits])
        return f"[{pid},{match.score!r},{names},[{hits}]]"

    def _hit(self, hit: Hit, interests: tuple[str, ...]) -> str:
        found = self._hits.get(id(hit))
        if found is None or found[0] is not hit:
            # The interest is written apart: its index depends on the match, not the hit.
            # Written by hand (field names and ints need no escaping): json.dumps per hit
            # was most of the encoding.
            term = self._strings.get(hit.term)
            if term is None:
                term = self._strings[hit.term] = dumps(hit.term)
            spans = ",".join([f"{a},{b}" for a, b in hit.spans])
            body = f'"{hit.field}",{term},[{spans}]]'
            found = self._hits[id(hit)] = (hit, body)
        try:
            which = str(interests.index(hit.interest))
        except ValueError:
            which = dumps(hit.interest)
        return f"[{which},{found[1]}"


def encode(matches: Sequence[Match]) -> str:
    """The ``matches`` column for one row (see :class:`MatchEncoder` for many)."""
    return MatchEncoder().encode(matches)


def decode(text: str | None, paper_ids: Iterable[str] = ()) -> tuple[Match, ...]:
    """The matches a row was queued with: explained, or bare (see :func:`is_bare`).

    A row queued before matches were stored (``text`` None) gets one bare match per
    paper, without score, interests or highlights, so it can still be sent.
    """
    if text is None:
        return tuple(Match(pid, 0.0, ()) for pid in paper_ids)
    try:
        found = orjson.loads(text)
        if isinstance(found, dict):
            return _bare(found).matches()
        return tuple(_match(item) for item in found)
    except (TypeError, ValueError, IndexError, KeyError) as exc:
        raise StoredMatchesError(f"stored matches do not read: {exc}") from exc


def is_bare(text: str | None) -> bool:
    """Whether a row's ``matches`` are stored bare: each names the profile's interests and
    no hits, to be explained against its paper before it is shown."""
    return text is not None and text.startswith("{")


def _match(item: Any) -> Match:
    paper_id, score, interests, hits = item
    names = tuple(interests)
    return Match(paper_id, float(score), names, tuple([_hit(h, names) for h in hits]))


def _hit(item: Any, interests: tuple[str, ...]) -> Hit:
    which, field, term, flat = item
    if field not in _FIELDS or len(flat) % 2:
        raise ValueError(f"not a hit: {item!r}")
    interest = interests[which] if isinstance(which, int) else which
    return Hit(interest, field, term, tuple(zip(flat[::2], flat[1::2], strict=True)))


@dataclass(frozen=True, slots=True)
class Bare:
    """Ranked matches stored bare: the profile's interests when the row was queued, and
    the ranked papers with their scores. A digest's papers (``outbox.matches``, see the
    module docstring) and its matches beyond the cap (``outbox.rest``, 0010) are kept so.

    Which of the interests matched each paper, and what to highlight, is worked out
    when the digest is sent or its page opened (``alertbot.match.Explainer``): the query
    texts and the paper decide both. Keeping them this bare costs the tick next to
    nothing (no per-match object; one JSON encoding of three flat lists per row).
    """

    interests: tuple[str, ...]
    paper_ids: Sequence[str]
    scores: Sequence[float]

    def __len__(self) -> int:
        return len(self.paper_ids)

    def encode(self) -> str:
        """The ``rest`` column's form: three flat lists."""
        return dumps([list(self.interests), list(self.paper_ids), list(self.scores)])

    def encode_matches(self) -> str:
        """The ``matches`` column's bare form (an object, told apart from the explained
        form's array by :func:`is_bare`)."""
        return dumps(
            {
                "interests": list(self.interests),
                "papers": list(self.paper_ids),
                "scores": list(self.scores),
            }
        )

    def matches(self) -> tuple[Match, ...]:
        """One match per paper, naming all the profile's interests and no hits (to be
        narrowed and highlighted by ``explain_match``)."""
        return tuple(
            Match(pid, score, self.interests)
            for pid, score in zip(self.paper_ids, self.scores, strict=True)
        )


NO_MATCHES = Bare((), (), ())


def decode_rest(text: str | None) -> Bare:
    """What :meth:`Bare.encode` wrote (an empty rest for a row older than 0010)."""
    if not text:
        return NO_MATCHES
    try:
        interests, paper_ids, scores = orjson.loads(text)
        return _checked(interests, paper_ids, scores)
    except (TypeError, ValueError) as exc:
        raise StoredMatchesError(f"stored matches beyond the cap do not read: {exc}") from exc


def _bare(found: dict[str, Any]) -> Bare:
    return _checked(found["interests"], found["papers"], found["scores"])


def _checked(interests: Any, paper_ids: Any, scores: Any) -> Bare:
    if len(paper_ids) != len(scores):
        raise ValueError("as many scores as papers expected")
    return Bare(
        tuple(str(i) for i in interests),
        [str(p) for p in paper_ids],
        [float(x) for x in scores],
    )
