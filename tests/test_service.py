"""The service's wiring to systemd: watchdog interval and notifications."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

import pytest

from alertbot.config import Settings
from alertbot.schedule.jobs import NoNotifier
from alertbot.service import heartbeat_seconds, systemd_notifier


def test_it_beats_at_the_configured_interval_without_a_watchdog(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Outside systemd the heartbeat follows schedule.heartbeat_seconds."""
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    settings = Settings(schedule={"heartbeat_seconds": 25})
    assert heartbeat_seconds(settings) == 25


def test_it_beats_twice_per_watchdog_period(monkeypatch: pytest.MonkeyPatch) -> None:
    """WatchdogSec=20 (WATCHDOG_USEC) makes the heartbeat every 10 s at most."""
    monkeypatch.setenv("WATCHDOG_USEC", "20000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    settings = Settings(schedule={"heartbeat_seconds": 30})
    assert heartbeat_seconds(settings) == 10


def test_it_ignores_a_watchdog_meant_for_another_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """WATCHDOG_PID naming another process leaves the interval alone (sd_watchdog_enabled)."""
    monkeypatch.setenv("WATCHDOG_USEC", "2000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))
    assert heartbeat_seconds(Settings()) == Settings().schedule.heartbeat_seconds


def test_it_notifies_nobody_when_systemd_does_not_listen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without $NOTIFY_SOCKET the notifier is a no-op."""
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert isinstance(systemd_notifier(), NoNotifier)


def test_it_sends_notifications_to_the_notify_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    """With $NOTIFY_SOCKET, READY=1 arrives as a datagram on that socket."""
    folder = Path(tempfile.mkdtemp(prefix="alertbot-notify-"))  # AF_UNIX paths are short
    path = folder / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        systemd_notifier().notify("READY=1")
        assert sock.recv(100) == b"READY=1"
    path.unlink()
    folder.rmdir()
