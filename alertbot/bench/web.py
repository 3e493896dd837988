"""``alertbot bench web``: how long the account page's live preview takes to answer.

The world: a SQLite store with ``papers`` recent papers of real text (the bundled
samples, then recombinations of their sentences: :func:`alertbot.bench.workload.real_papers`),
all first stored yesterday (inside ``web.preview_days`` and ``match.corpus_days``), and
one signed-in reader. Each keystroke of the preview is one realistic profile
(:func:`alertbot.bench.workload.realistic_profiles`: 1-4 interests, phrases, ORs,
exclusions, ``ti:``, prefixes, ``^2``; about 2.5% of papers each), previewed three ways:

* ``preview``: :meth:`alertbot.web.preview.Previewer.preview` with its papers and
  statistics kept between keystrokes (what the page does): match, build the digest,
  render its 20 papers as the email does;
* ``http``: ``GET /account/preview`` on the real app (session cookie, routing, the
  store's check of the session, headers), the JavaScript's request;
* ``naive``: the obvious implementation, reading the recent papers from the store and
  counting their terms on every keystroke (``Previewer`` built anew each time).

Figures are the median and 95th percentile over the profiles; the target is 200 ms.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from alertbot.bench.workload import real_papers, realistic_profiles
from alertbot.config import Settings
from alertbot.model import Profile, Subscriber
from alertbot.samples import sample_dump_paths
from alertbot.schedule.health import HealthState
from alertbot.sources import load_papers
from alertbot.store import connect, migrate
from alertbot.store.papers import upsert_papers
from alertbot.subscribers import NewSubscriber, SubscriberService
from alertbot.web.app import create_app
from alertbot.web.preview import Previewer
from alertbot.web.routes import account_site_routes
from alertbot.web.session import SESSION_COOKIE, Sessions

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
TARGET_MS = 200.0


@dataclass(frozen=True, slots=True)
class Timing:
    name: str
    samples_ms: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


@dataclass(frozen=True, slots=True)
class WebBench:
    papers: int
    profiles: int
    mean_matches: float
    timings: tuple[Timing, ...]

    def rows(self) -> list[tuple[str, str]]:
        rows = [
            ("recent papers", f"{self.papers:,}"),
            ("profiles (keystrokes)", f"{self.profiles:,}"),
            ("matches per profile", f"{self.mean_matches:.1f} (mean)"),
        ]
        for t in self.timings:
            rows.append((f"{t.name} median / p95", f"{t.median:.1f} ms / {t.p95:.1f} ms"))
        preview = self.timings[0]
        verdict = "under" if preview.p95 < TARGET_MS else "OVER"
        rows.append(("target", f"p95 {verdict} {TARGET_MS:.0f} ms"))
        naive = next((t for t in self.timings if t.name.startswith("naive")), None)
        if naive is not None:
            rows.append(("naive / preview", f"{naive.median / preview.median:.1f}x (medians)"))
        return rows


def _timed(calls: Sequence[Callable[[], object]]) -> tuple[float, ...]:
    samples = []
    for call in calls:
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return tuple(samples)


def run_bench(n_papers: int, n_profiles: int, *, naive_sample: int = 20) -> WebBench:
    """Build the world in a temporary folder, time the three ways (module docstring)."""
    seed = [p for path in sample_dump_paths() for p in load_papers(str(path), now=NOW)]
    papers = real_papers(seed, n_papers)
    profiles = list(realistic_profiles(papers, n_profiles).values())
    with tempfile.TemporaryDirectory(prefix="alertbot-bench-web-") as folder:
        settings = Settings(
            data_dir=Path(folder) / "data",
            database_url=f"sqlite:///{folder}/bench.sqlite3",
            secret_key="bench-secret-key-0123456789abcdef",  # noqa: S106 - a throwaway store
        )
        engine = connect(settings.effective_database_url)
        try:
            migrate(engine)
            upsert_papers(engine, papers, source="bench", now=NOW - timedelta(days=1))
            now = lambda: NOW  # noqa: E731 - the bench's fixed clock
            service = SubscriberService(engine, settings, now=now)
            reader = service.create(NewSubscriber(name="reader", interests=("learning",)))
            previewer = Previewer(engine, settings, now=now)
            previewer.preview(reader, profiles[0])  # loads the recent papers once
            matched = [previewer.preview(reader, p).total for p in profiles]
            warm = Timing("preview", _timed([_preview(previewer, reader, p) for p in profiles]))
            http = Timing("http", _http(engine, settings, now, reader, profiles))
            naive = Timing(
                f"naive (reload each time, {min(naive_sample, len(profiles))} profiles)",
                _timed(
                    [
                        _preview(Previewer(engine, settings, now=now), reader, p)
                        for p in profiles[:naive_sample]
                    ]
                ),
            )
        finally:
            engine.dispose()
    return WebBench(
        papers=len(papers),
        profiles=len(profiles),
        mean_matches=statistics.fmean(matched),
        timings=(warm, http, naive),
    )


def _preview(previewer: Previewer, reader: Subscriber, profile: Profile) -> Callable[[], object]:
    return lambda: previewer.preview(reader, profile)


def _http(
    engine: Engine,
    settings: Settings,
    now: Callable[[], datetime],
    reader: Subscriber,
    profiles: Sequence[Profile],
) -> tuple[float, ...]:
    app = create_app(
        engine,
        settings,
        now=now,
        health=HealthState(started_at=now()),
        routes=account_site_routes(engine, settings, now=now),
    )
    with warnings.catch_warnings():
        # Starlette's test client asks for an httpx fork; the one we have serves.
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    service = SubscriberService(engine, settings, now=now)
    cookie = Sessions(settings, service).signer.session_token(reader.id, 0)
    with TestClient(app, cookies={SESSION_COOKIE: cookie}) as http:
        first = http.get("/account/preview", params={"interest": "learning"})
        if first.status_code != 200:
            raise RuntimeError(f"the preview answered {first.status_code}")

        def ask(profile: Profile) -> Callable[[], object]:
            params = tuple(
                [("interest", q) for q in profile.interests]
                + [("exclusion", q) for q in profile.exclusions]
            )
            return lambda: http.get("/account/preview", params=params)

        return _timed([ask(p) for p in profiles])
