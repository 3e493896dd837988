"""Query suggestions from a reader's feedback, for whoever shows them: ``/subscribe
suggest``, the web page, ``alertbot learn show``.

The digest footer's suggestions are made at queue time (:class:`alertbot.readers.
TickLearning`) and stored on the row; these are made on request, from the same rule
(:func:`alertbot.learn.suggest`), the recent corpus and the reader's verdicts. They do
not depend on the learning switch: a reader who turned the learned order off may still
ask what their feedback argues for.
"""

from __future__ import annotations

from datetime import datetime

from alertbot.config import Settings
from alertbot.corpus import CorpusCache
from alertbot.learn import suggest
from alertbot.model import Subscriber, Suggestion
from alertbot.readers import VocabularyCache
from alertbot.store import Db
from alertbot.store.feedback import get_feedback
from alertbot.store.papers import get_papers


def suggestions_for(
    db: Db,
    settings: Settings,
    subscriber: Subscriber,
    *,
    now: datetime,
    corpus: CorpusCache,
    vocabulary: VocabularyCache,
) -> list[Suggestion]:
    """What the reader's verdicts argue for adding or excluding, strongest first."""
    feedback = get_feedback(db, subscriber.id)
    if not feedback:
        return []
    days = settings.match.corpus_days
    recent = corpus.get(db, now=now, days=days)
    words, vectors = vocabulary.get(db, recent.papers, now=now, days=days)
    judged = {pid: sp.paper for pid, sp in get_papers(db, feedback).items()}
    return suggest(feedback, judged, words, subscriber.profile, vectors=vectors)
