"""The embedded default: the whole pipeline with no credentials and no network.

A fresh SQLite database in a folder, the sample dumps shipped with alertbot, three
sample subscribers with different interests, and the file channel writing each digest
as ``.eml``, ``.html`` and ``.slack.json`` into ``<folder>/outbox/``.

Each run starts fresh: the demo's own database and the digest files it wrote before are
removed first (nothing else in the folder is touched), so running it twice gives the
same result rather than "nothing new".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

from alertbot.config import Settings
from alertbot.config_sections import DeliverySettings, SourceConfig
from alertbot.deliver import SendReport, build_channels, queue_due, send_due
from alertbot.model import EndpointKind, Profile
from alertbot.pipeline import fetch_sources
from alertbot.samples import sample_dump_paths
from alertbot.store import connect, migrate
from alertbot.store import endpoints as endpoint_store
from alertbot.store import subscribers as subscriber_store

DB_NAME = "alertbot-demo.sqlite3"
OUTPUT_SUFFIXES = (".eml", ".html", ".slack.json")


@dataclass(frozen=True, slots=True)
class SampleSubscriber:
    name: str
    profile: Profile


SAMPLE_SUBSCRIBERS: tuple[SampleSubscriber, ...] = (
    SampleSubscriber(
        "Ada (language models)",
        Profile(interests=('"language model"', "llm*"), exclusions=("survey",), max_papers=8),
    ),
    SampleSubscriber(
        "Grace (computer vision)",
        Profile(interests=('"object detection"', "segmentation", "video*"), max_papers=5),
    ),
    SampleSubscriber(
        "Alan (efficient hardware)",
        Profile(
            interests=(
                '"neural network" AND (hardware OR microcontroller* OR photonic OR fpga)',
                "quantization",
                "spiking",
            ),
            max_papers=5,
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class DemoRow:
    subscriber: str
    matched: int
    top_paper: str | None
    files: tuple[Path, ...]


@dataclass(frozen=True, slots=True)
class DemoResult:
    folder: Path
    outbox: Path
    papers_ingested: int
    rows: tuple[DemoRow, ...]
    report: SendReport


def demo_settings(folder: Path) -> Settings:
    """Settings for the demo: everything inside ``folder``, the bundled dumps as sources."""
    return Settings(
        data_dir=folder,
        database_url=f"sqlite:///{(folder / DB_NAME).resolve()}",
        sources=[
            SourceConfig(name=f"sample-{path.stem}", location=str(path))
            for path in sample_dump_paths()
        ],
        delivery=DeliverySettings(outbox_dir=folder / "outbox"),
    )


def clean(folder: Path) -> None:
    """Remove what an earlier demo run wrote: its database and its digest files."""
    for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm"):
        (folder / name).unlink(missing_ok=True)
    outbox = folder / "outbox"
    if outbox.is_dir():
        for path in outbox.iterdir():
            if path.is_file() and path.name.endswith(OUTPUT_SUFFIXES):
                path.unlink()


def run_demo(folder: Path, *, now: datetime) -> DemoResult:
    """Ingest the samples, subscribe three people, and write their digests as files."""
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    clean(folder)
    settings = demo_settings(folder)
    engine = connect(settings.effective_database_url)
    try:
        migrate(engine)
        outcomes = fetch_sources(engine, settings, now=lambda: now)
        outbox = folder / "outbox"
        for sample in SAMPLE_SUBSCRIBERS:
            # Midnight UTC: today's digest is due whenever the demo runs.
            subscriber = subscriber_store.create_subscriber(
                engine,
                name=sample.name,
                now=now - timedelta(days=1),
                profile=sample.profile,
                send_time=time(0, 0),
            )
            endpoint_store.add_endpoint(
                engine, subscriber.id, EndpointKind.FILE, str(outbox), now=now
            )
        queue_due(engine, settings, now=now)
        channels = build_channels(settings)
        report = send_due(engine, settings, now=lambda: now, channels=channels)
    finally:
        engine.dispose()
    rows = tuple(
        DemoRow(
            subscriber=sample.name,
            matched=sum(
                d.n_papers + d.more for d in report.deliveries if d.subscriber == sample.name
            ),
            top_paper=next(
                (d.top_paper for d in report.deliveries if d.subscriber == sample.name), None
            ),
            files=tuple(
                sorted(p for p in outbox.glob(f"*-o{_ids(report, sample.name)}.*") if p.is_file())
            ),
        )
        for sample in SAMPLE_SUBSCRIBERS
    )
    return DemoResult(
        folder=folder,
        outbox=outbox,
        papers_ingested=sum(o.n_new for o in outcomes),
        rows=rows,
        report=report,
    )


def _ids(report: SendReport, name: str) -> str:
    ids = [d.outbox_id for d in report.deliveries if d.subscriber == name]
    return str(ids[0]) if ids else "none"
