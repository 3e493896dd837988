"""Building a digest: one subscriber, one endpoint, one local date. Pure.

The candidates (papers new to this endpoint) come from ``store.digests``; here they are
matched against the subscriber's profile, ranked, and capped at the profile's
``max_papers``, the rest counted in ``Digest.more`` for the "and N more" line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from alertbot.match import CorpusStats, match_profile
from alertbot.model import Digest, DigestItem, Endpoint, Match, Paper, Profile, Subscriber

# ``match_profile``'s signature: the matcher a digest is built with (a cache may stand in).
# It may return a lazy sequence (``match.LazyMatches``): only the first ``max_papers``
# are taken, and ``len`` gives the rest.
Matcher = Callable[[Profile, Sequence[Paper], CorpusStats], Sequence[Match]]


def build_digest(
    subscriber: Subscriber,
    endpoint: Endpoint,
    digest_date: date,
    candidates: Sequence[Paper],
    stats: CorpusStats,
    matcher: Matcher = match_profile,
) -> Digest:
    """The digest ``subscriber`` gets on ``endpoint`` for ``digest_date``.

    Papers are ranked best first by the matcher; at most ``profile.max_papers`` are kept
    and ``more`` counts the matching papers beyond the cap. A day with no match gives a
    digest with no items: whether to send it is the caller's choice
    (``settings.delivery.send_empty``). A profile that no longer parses raises
    :class:`alertbot.match.QueryError`.
    """
    by_id = {paper.id: paper for paper in candidates}
    matches = matcher(subscriber.profile, list(by_id.values()), stats)
    cap = max(subscriber.profile.max_papers, 0)
    items = tuple(DigestItem(by_id[m.paper_id], m) for m in matches[:cap])
    return Digest(
        subscriber=subscriber,
        endpoint=endpoint,
        digest_date=digest_date,
        items=items,
        more=max(len(matches) - cap, 0),
    )
