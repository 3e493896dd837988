"""The scheduler's jobs: ids, triggers and policies, and what each job does."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, func, insert, select

import alertbot.samples
from alertbot import metrics
from alertbot.config import Settings
from alertbot.config_sections import SourceConfig
from alertbot.model import EndpointKind, FetchStatus
from alertbot.schedule.health import HealthState
from alertbot.schedule.jobs import (
    JOB_CLEANUP,
    JOB_DISPATCH,
    JOB_FETCH_ON_START,
    JOB_HEARTBEAT,
    JOB_SEND,
    Jobs,
    build_scheduler,
    fetch_job_id,
)
from alertbot.schedule.triggers import parse_schedule
from alertbot.store import schema
from alertbot.store.endpoints import add_endpoint
from alertbot.store.fetches import FetchRecord, latest_fetches, record_fetch
from alertbot.store.outgoing_mail import MailLimits, MailPurpose, reserve_mail
from alertbot.store.papers import count_papers
from alertbot.store.subscribers import create_subscriber

SAMPLES = Path(alertbot.samples.__file__).parent
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class Recorder:
    """A notifier that keeps what it was told and signals each message."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.got = threading.Event()

    def notify(self, state: str) -> None:
        self.messages.append(state)
        self.got.set()


def make_jobs(engine: Engine, settings: Settings, **kwargs: Any) -> Jobs:
    """Jobs on the test clock, with a health state and a stop event of their own."""
    return Jobs(
        engine,
        settings,
        now=lambda: NOW,
        health=HealthState(started_at=NOW),
        stop=threading.Event(),
        **kwargs,
    )


@pytest.fixture
def paused(sqlite_engine: Engine) -> Iterator[tuple[BackgroundScheduler, Jobs]]:
    """A scheduler with three sources, started paused so jobs are listed but never run."""
    settings = Settings(
        sources=[
            SourceConfig(name="cron", location="a", schedule="30 5 * * 1-5"),
            SourceConfig(name="every", location="b", schedule="every 30m"),
            SourceConfig(name="default", location="c"),
        ],
        schedule={"misfire_grace_seconds": 123, "fetch_interval_minutes": 45},
    )
    jobs = make_jobs(sqlite_engine, settings)
    scheduler = build_scheduler(jobs)
    scheduler.start(paused=True)
    yield scheduler, jobs
    scheduler.shutdown(wait=False)


def test_it_registers_every_job_under_an_explicit_id(
    paused: tuple[BackgroundScheduler, Jobs],
) -> None:
    """One fetch job per source plus start-up fetch, dispatch, cleanup and heartbeat."""
    scheduler, _ = paused
    assert {job.id for job in scheduler.get_jobs()} == {
        fetch_job_id("cron"),
        fetch_job_id("every"),
        fetch_job_id("default"),
        JOB_FETCH_ON_START,
        JOB_DISPATCH,
        JOB_CLEANUP,
        JOB_HEARTBEAT,
    }


def test_it_gives_a_delivery_worker_only_sending_and_the_heartbeat(sqlite_engine: Engine) -> None:
    """run --worker neither fetches, queues nor cleans up: the full scheduler does that."""
    settings = Settings(sources=[SourceConfig(name="a", location="x")])
    scheduler = build_scheduler(make_jobs(sqlite_engine, settings), worker=True)
    scheduler.start(paused=True)
    try:
        assert {job.id for job in scheduler.get_jobs()} == {JOB_SEND, JOB_HEARTBEAT}
        assert scheduler.get_job(JOB_SEND).kwargs == {"queue": False}
    finally:
        scheduler.shutdown(wait=False)


def test_it_coalesces_and_never_overlaps_jobs(paused: tuple[BackgroundScheduler, Jobs]) -> None:
    """Every job coalesces missed runs, runs one at a time and has the configured grace."""
    scheduler, _ = paused
    for job in scheduler.get_jobs():
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.misfire_grace_time == 123


def test_it_fetches_each_source_on_its_own_schedule(
    paused: tuple[BackgroundScheduler, Jobs],
) -> None:
    """A crontab line, 'every 30m' and the default interval become the matching triggers."""
    scheduler, _ = paused
    cron = scheduler.get_job(fetch_job_id("cron")).trigger
    assert isinstance(cron, CronTrigger)
    # Weekdays at 05:30 UTC: from Saturday 2026-06-06 the next run is Monday the 8th.
    saturday = datetime(2026, 6, 6, 12, 0, tzinfo=UTC)
    assert cron.get_next_fire_time(None, saturday) == datetime(2026, 6, 8, 5, 30, tzinfo=UTC)
    every = scheduler.get_job(fetch_job_id("every")).trigger
    assert isinstance(every, IntervalTrigger)
    assert every.interval == timedelta(minutes=30)
    default = scheduler.get_job(fetch_job_id("default")).trigger
    assert isinstance(default, IntervalTrigger)
    assert default.interval == timedelta(minutes=45)


def test_it_runs_the_dispatcher_every_interval_in_utc(
    paused: tuple[BackgroundScheduler, Jobs],
) -> None:
    """The dispatcher tick is an interval of dispatch_interval_seconds."""
    scheduler, jobs = paused
    trigger = scheduler.get_job(JOB_DISPATCH).trigger
    assert isinstance(trigger, IntervalTrigger)
    assert trigger.interval == timedelta(seconds=jobs.settings.schedule.dispatch_interval_seconds)


def test_it_holds_the_dispatcher_until_the_start_up_fetch_is_done(sqlite_engine: Engine) -> None:
    """Digests due at start wait for fresh listings: the tick is skipped until then."""
    jobs = make_jobs(sqlite_engine, Settings(sources=[SourceConfig(name="a", location="x")]))
    build_scheduler(jobs)
    skipped = metrics.job_runs.labels("dispatch", "skipped")
    before = skipped._value.get()
    jobs.dispatch()
    assert skipped._value.get() == before + 1


def test_it_reads_every_and_crontab_schedules() -> None:
    """'every 2h' is an interval; a crontab line is a UTC cron; nonsense is refused."""
    trigger = parse_schedule("every 2h")
    assert isinstance(trigger, IntervalTrigger)
    assert trigger.interval == timedelta(hours=2)
    assert isinstance(parse_schedule("0 */2 * * *"), CronTrigger)
    with pytest.raises(ValueError, match="crontab"):
        parse_schedule("twice a day")


@pytest.mark.parametrize(
    ("line", "weekdays"),
    [
        # 2026-06-07 is a Sunday; weekday names from the next seven daily fire times.
        ("0 6 * * 1-5", ["mon", "tue", "wed", "thu", "fri"]),
        ("0 6 * * 0", ["sun"]),
        ("0 6 * * 7", ["sun"]),
        ("0 6 * * 5-7", ["fri", "sat", "sun"]),
        ("0 6 * * */2", ["sun", "tue", "thu", "sat"]),
        ("0 6 * * 1,3", ["mon", "wed"]),
        ("0 6 * * mon-fri", ["mon", "tue", "wed", "thu", "fri"]),
    ],
)
def test_it_reads_crontab_weekdays_as_cron_does(line: str, weekdays: list[str]) -> None:
    """Crontab counts days from Sunday = 0 (APScheduler from Monday): cron's meaning wins."""
    trigger = parse_schedule(line)
    fired: set[str] = set()
    at = datetime(2026, 6, 6, 12, 0, tzinfo=UTC)  # a Saturday
    for _ in range(7):
        nxt = trigger.get_next_fire_time(None, at)
        assert nxt is not None
        fired.add(nxt.strftime("%a").lower())
        at = nxt + timedelta(minutes=1)
    assert sorted(fired) == sorted(weekdays)


def test_it_fetches_a_source_into_the_store(sqlite_engine: Engine) -> None:
    """The fetch job runs the real pipeline: papers are stored and the fetch is logged."""
    source = SourceConfig(name="samples", location=str(SAMPLES / "hf-papers-blocks.txt"))
    jobs = make_jobs(sqlite_engine, Settings(sources=[source]))
    jobs.fetch(only="samples")
    assert count_papers(sqlite_engine) > 0
    assert [(r.source, r.status) for r in latest_fetches(sqlite_engine)] == [("samples", "ok")]


def test_it_fetches_nothing_once_stopping(sqlite_engine: Engine) -> None:
    """After SIGTERM set the stop event, a fetch that comes due does not start."""
    source = SourceConfig(name="samples", location=str(SAMPLES / "hf-papers-blocks.txt"))
    jobs = make_jobs(sqlite_engine, Settings(sources=[source]))
    jobs.stop.set()
    jobs.fetch()
    assert count_papers(sqlite_engine) == 0


def test_it_prunes_rows_past_their_retention(sqlite_engine: Engine) -> None:
    """Cleanup deletes fetch-log and delivered rows older than retention, keeps the rest."""
    settings = Settings(retention={"fetch_log_days": 10, "delivered_days": 30})
    for age_days in (11, 9):
        started = NOW - timedelta(days=age_days)
        record_fetch(
            sqlite_engine,
            FetchRecord(
                source=f"s{age_days}",
                location="x",
                started_at=started,
                finished_at=started,
                status=FetchStatus.OK,
            ),
        )
    subscriber = create_subscriber(sqlite_engine, name="ada", now=NOW)
    endpoint = add_endpoint(sqlite_engine, subscriber.id, EndpointKind.FILE, "/tmp/out", now=NOW)
    with sqlite_engine.begin() as conn:
        outbox_id = conn.execute(
            insert(schema.outbox).values(
                subscriber_id=subscriber.id,
                endpoint_id=endpoint.id,
                digest_date=date(2026, 4, 1),
                state="sent",
                attempts=1,
                next_attempt_at=NOW,
                created_at=NOW,
                paper_ids=["old", "new"],
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        for paper_id, age_days in (("old", 31), ("new", 29)):
            conn.execute(
                insert(schema.delivered_papers).values(
                    endpoint_id=endpoint.id,
                    paper_id=paper_id,
                    outbox_id=outbox_id,
                    delivered_at=NOW - timedelta(days=age_days),
                )
            )
    make_jobs(sqlite_engine, settings).cleanup()
    assert [r.source for r in latest_fetches(sqlite_engine)] == ["s9"]
    with sqlite_engine.connect() as conn:
        kept = conn.execute(select(schema.delivered_papers.c.paper_id)).scalars().all()
        outbox_rows = conn.execute(select(func.count()).select_from(schema.outbox)).scalar()
    assert kept == ["new"]
    assert outbox_rows == 1


def test_cleanup_prunes_digests_past_their_retention(sqlite_engine: Engine) -> None:
    """A digest older than ``retention.digest_days`` goes once a newer one exists."""
    settings = Settings(retention={"digest_days": 30})
    subscriber = create_subscriber(sqlite_engine, name="ada", now=NOW)
    endpoint = add_endpoint(sqlite_engine, subscriber.id, EndpointKind.FILE, "/tmp/out", now=NOW)
    with sqlite_engine.begin() as conn:
        for age_days in (31, 29):
            conn.execute(
                insert(schema.outbox).values(
                    subscriber_id=subscriber.id,
                    endpoint_id=endpoint.id,
                    digest_date=(NOW - timedelta(days=age_days)).date(),
                    state="sent",
                    attempts=1,
                    next_attempt_at=NOW,
                    created_at=NOW,
                    paper_ids=["p"],
                )
            )
    make_jobs(sqlite_engine, settings).cleanup()
    with sqlite_engine.connect() as conn:
        dates = conn.execute(select(schema.outbox.c.digest_date)).scalars().all()
    assert dates == [(NOW - timedelta(days=29)).date()]


def test_cleanup_prunes_outgoing_mail_counts_past_their_window(sqlite_engine: Engine) -> None:
    """The limiter's rows older than its window go; the ones it still counts stay."""
    limits = MailLimits.from_settings(Settings())
    for hours_ago in (25, 1):
        reserve_mail(
            sqlite_engine,
            MailPurpose.CONFIRM_EMAIL,
            address=f"a{hours_ago}@example.org",
            requester="r",
            limits=limits,
            now=NOW - timedelta(hours=hours_ago),
        )
    make_jobs(sqlite_engine, Settings()).cleanup()
    with sqlite_engine.connect() as conn:
        sent = conn.execute(select(schema.outgoing_mail.c.sent_at)).scalars().all()
    assert sent == [NOW - timedelta(hours=1)]


def test_it_proves_the_scheduler_alive_to_health_and_the_watchdog(sqlite_engine: Engine) -> None:
    """A running scheduler's heartbeat job records a beat and sends WATCHDOG=1."""
    recorder = Recorder()
    jobs = make_jobs(sqlite_engine, Settings(), notifier=recorder)
    scheduler = build_scheduler(jobs)
    jobs.health.scheduler_running = lambda: bool(scheduler.running)
    assert not jobs.health.scheduler_alive(NOW)
    scheduler.start()
    try:
        assert recorder.got.wait(10)
    finally:
        scheduler.shutdown(wait=True)
    assert recorder.messages[0] == "WATCHDOG=1"
    assert jobs.health.last_heartbeat == NOW
    jobs.health.scheduler_running = lambda: True
    assert jobs.health.scheduler_alive(NOW + timedelta(seconds=30))
    assert not jobs.health.scheduler_alive(NOW + timedelta(minutes=5))
