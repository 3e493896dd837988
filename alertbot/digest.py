"""Building a digest: one subscriber, one endpoint, one local date. Pure.

The candidates (papers new to this endpoint) come from ``store.digests``; here they are
matched against the subscriber's profile, ranked, and capped at the profile's
``max_papers``, the rest counted in ``Digest.more`` for the "and N more" line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from alertbot.match import CorpusStats, match_profile
from alertbot.model import (
    Digest,
    DigestItem,
    Endpoint,
    Match,
    Paper,
    Profile,
    RankReason,
    Subscriber,
)

# ``match_profile``'s signature: the matcher a digest is built with (a cache may stand in).
# It may return a lazy sequence (``match.LazyMatches``): only the first ``max_papers``
# are taken, and ``len`` gives the rest.
Matcher = Callable[[Profile, Sequence[Paper], CorpusStats], Sequence[Match]]
# The learned order of the ranked matches, each with why it moved (alertbot.learn.rerank
# with the reader's model bound); keyword matching has already decided which are in.
Ranker = Callable[[list[Match]], list[tuple[Match, RankReason | None]]]


def build_digest(
    subscriber: Subscriber,
    endpoint: Endpoint,
    digest_date: date,
    candidates: Sequence[Paper],
    stats: CorpusStats,
    matcher: Matcher = match_profile,
    ranker: Ranker | None = None,
) -> Digest:
    """The digest ``subscriber`` gets on ``endpoint`` for ``digest_date``.

    Papers are ranked best first by the matcher; at most ``profile.max_papers`` are kept
    and ``more`` counts the matching papers beyond the cap. A day with no match gives a
    digest with no items: whether to send it is the caller's choice
    (``settings.delivery.send_empty``). A profile that no longer parses raises
    :class:`alertbot.match.QueryError`.

    ``ranker`` (given only when the reader's learned ranking is on) reorders the matches
    before the cap, so it decides which make it; without one the order is the matcher's.
    """
    by_id = {paper.id: paper for paper in candidates}
    matches = matcher(subscriber.profile, list(by_id.values()), stats)
    cap = max(subscriber.profile.max_papers, 0)
    if ranker is not None:  # the learned order needs every match (all are built)
        ranked = ranker(list(matches))[:cap]
    else:  # only the shown ones: a lazy matcher builds nothing more
        ranked = [(m, None) for m in matches[:cap]]
    items = tuple(DigestItem(by_id[m.paper_id], m, reason) for m, reason in ranked)
    return Digest(
        subscriber=subscriber,
        endpoint=endpoint,
        digest_date=digest_date,
        items=items,
        more=max(len(matches) - cap, 0),
        learned=ranker is not None,
    )
