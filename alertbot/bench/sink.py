"""The SMTP sink ``alertbot bench deliver`` sends to, and the raw smtplib baselines.

The sink is Postfix's ``smtp-sink`` (C, from Debian's ``postfix`` package), started
directly as a process, not as a mail service; where it is not installed, aiosmtpd's
``Sink`` handler in a subprocess (pure Python, from the ``bench`` extra), which costs
more CPU per message than the sender and so caps what can be measured.

The baselines replay digests' exact bytes with plain smtplib: over one connection, and
with one connection per worker at once (one process each).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alertbot.bench.together import run_together

SINK = "aiosmtpd.handlers.Sink"  # accepts and discards every message


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SinkMissing(RuntimeError):
    """Neither Postfix's smtp-sink nor aiosmtpd is installed."""


POSTFIX_SINKS = ("/usr/sbin/smtp-sink", "/usr/lib/postfix/sbin/smtp-sink")


def _postfix_sink() -> str | None:
    found = shutil.which("smtp-sink")
    return found or next((p for p in POSTFIX_SINKS if Path(p).exists()), None)


def _sink_command(port: int) -> tuple[str, list[str]]:
    """Which sink, and the command that starts it listening on ``port``."""
    postfix = _postfix_sink()
    if postfix is not None:
        # As root smtp-sink must drop privileges once its socket is open (-u).
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        return "postfix smtp-sink", [postfix, *user, f"127.0.0.1:{port}", "256"]
    if importlib.util.find_spec("aiosmtpd") is None:
        raise SinkMissing(
            "bench deliver needs an SMTP sink: apt-get install postfix (smtp-sink) or "
            "pip install 'alertbot[bench]' (aiosmtpd)"
        )
    python = [sys.executable, "-m", "aiosmtpd", "-n"]
    return "aiosmtpd", [*python, "-l", f"127.0.0.1:{port}", "-c", SINK]


@contextmanager
def smtp_sink() -> Iterator[tuple[int, int, str]]:
    """A discarding SMTP sink in its own process; yields its port, pid and name."""
    port = _free_port()
    name, command = _sink_command(port)
    proc = subprocess.Popen(  # noqa: S603 - a fixed program and arguments
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"the {name} sink did not start") from None
                time.sleep(0.05)
        yield port, proc.pid, name
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _sender(port: int) -> smtplib.SMTP:
    """A connection to the sink, greeted, so its extensions are known before the clock
    starts (``has_extn`` answers False until EHLO, which left BODY=8BITMIME unsaid)."""
    smtp = smtplib.SMTP("127.0.0.1", port, local_hostname="localhost", timeout=30)
    smtp.ehlo()
    return smtp


def replayed(n: int, messages: Sequence[bytes]) -> list[bytes]:
    """The ``n`` messages a baseline sends: ``messages`` in turn, so the baseline carries
    the same mix of sizes as the digests it is compared with, not one message of the
    nearest size (with six profiles, that one was 14% larger than the average)."""
    return [messages[i % len(messages)] for i in range(n)]


def _replay(smtp: smtplib.SMTP, messages: Sequence[bytes]) -> None:
    options = ["BODY=8BITMIME"] if smtp.has_extn("8bitmime") else []
    for message in messages:
        smtp.sendmail("a@example.org", ["b@example.org"], message, mail_options=options)


def baseline(port: int, messages: Sequence[bytes]) -> float:
    """Seconds to send ``messages`` over one connection with plain smtplib."""
    with _sender(port) as smtp:
        started = time.perf_counter()
        _replay(smtp, messages)
        return time.perf_counter() - started


def _baseline_worker(
    port: int, messages: Sequence[bytes], ready: Any, go: Any, results: Any
) -> None:
    with _sender(port) as smtp:
        ready.release()
        go.wait()
        _replay(smtp, messages)
    results.put(len(messages))


def parallel_baseline(port: int, messages: Sequence[bytes], connections: int) -> float:
    """Seconds for ``connections`` processes, each with its own connection, to send
    ``messages`` between them: raw smtplib with as many senders as workers."""
    arguments = [(port, messages[i::connections]) for i in range(connections)]
    _, seconds = run_together(_baseline_worker, arguments, what="baseline sender")
    return seconds


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
