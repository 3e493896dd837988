"""Data for delivery tests: the clock, papers to stock, settings pointing at local servers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from alertbot.config import Settings
from alertbot.config_sections import DeliverySettings, SmtpSettings
from alertbot.model import Paper

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # a Monday, after the 08:00 send time

TOPICS = (
    ("Diffusion models for protein design", "We train a diffusion model on protein backbones."),
    ("Sparse attention for long documents", "A sparse attention scheme scales transformers."),
    ("Graph neural networks for molecules", "Message passing graph neural networks on molecules."),
    ("Diffusion policies for robot control", "Robots learn control with diffusion policies."),
    ("Reinforcement learning from feedback", "Reinforcement learning with human feedback."),
)


def make_papers(n: int = 5, *, prefix: str = "2603", extra: str = "") -> list[Paper]:
    """``n`` distinct arXiv papers cycling through a few topics."""
    result = []
    for i in range(n):
        title, abstract = TOPICS[i % len(TOPICS)]
        result.append(
            Paper(
                id=f"{prefix}.{i:05d}",
                title=f"{title} {extra}{i}".strip(),
                abstract=abstract,
                source_format="lines",
                authors=("Ada Lovelace", "Alan Turing"),
                published=date(2026, 3, 1),
                arxiv_id=f"{prefix}.{i:05d}",
            )
        )
    return result


def make_settings(tmp_path: Path, **smtp: Any) -> Settings:
    """Settings with no backoff (retries are immediate) and SMTP as given."""
    return Settings(
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-0123456789",
        web={"public_url": "https://alertbot.example.org"},
        smtp=SmtpSettings(
            from_address="alertbot <digest@alertbot.example.org>",
            timeout_seconds=smtp.pop("timeout_seconds", 5.0),
            **smtp,
        ),
        delivery=DeliverySettings(backoff_base_seconds=0),
    )
