"""Log lines: what an operator reads on a terminal, and what a collector parses."""

from __future__ import annotations

import json
import logging

import pytest

from alertbot.logs import configure, get_logger


@pytest.fixture(autouse=True)
def _restore_logging() -> object:
    """Each test starts from unconfigured loggers (as a library user has them) and puts
    back what an earlier test configured."""
    names = ("alertbot", "uvicorn", "apscheduler")
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).propagate) for n in names}
    for name in names:
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    yield None
    for name, (handlers, propagate) in saved.items():
        logging.getLogger(name).handlers[:] = handlers
        logging.getLogger(name).propagate = propagate


def test_it_writes_key_value_text_with_every_keyword(capsys: pytest.CaptureFixture[str]) -> None:
    """Every keyword becomes key=value, even one nobody declared, quoted if it has spaces."""
    configure("INFO", timestamps=False)
    get_logger("alertbot.test").info("digest sent", outbox_id=12, oubtox_typo="a b")
    assert capsys.readouterr().err == (
        "INFO alertbot.test: digest sent outbox_id=12 oubtox_typo='a b'\n"
    )


def test_it_stamps_lines_in_the_foreground_only(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A terminal gets an ISO timestamp first; under journald (JOURNAL_STREAM) it does not."""
    configure("INFO")
    get_logger("alertbot.test").info("hello")
    assert capsys.readouterr().err.split(" ", 1)[0].endswith("+00:00")
    monkeypatch.setenv("JOURNAL_STREAM", "8:1234")
    configure("INFO")
    get_logger("alertbot.test").info("hello")
    assert capsys.readouterr().err == "INFO alertbot.test: hello\n"


def test_it_writes_one_json_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    """JSON lines carry the event, level, logger, timestamp and context as fields."""
    configure("INFO", format="json")
    get_logger("alertbot.test").warning("fetch failed", source="arxiv", attempts=3)
    line = json.loads(capsys.readouterr().err)
    assert line["event"] == "fetch failed"
    assert (line["level"], line["logger"]) == ("warning", "alertbot.test")
    assert (line["source"], line["attempts"]) == ("arxiv", 3)
    assert "timestamp" in line


def test_it_keeps_the_traceback_of_an_exception(capsys: pytest.CaptureFixture[str]) -> None:
    """log.exception appends the traceback (text) or an exception field (JSON)."""
    configure("INFO", timestamps=False)
    try:
        raise ValueError("boom")
    except ValueError:
        get_logger("alertbot.test").exception("it failed", source="x")
    err = capsys.readouterr().err
    assert err.startswith("ERROR alertbot.test: it failed source=x\nTraceback")
    assert "ValueError: boom" in err


def test_it_formats_library_records_the_same_way(capsys: pytest.CaptureFixture[str]) -> None:
    """uvicorn's plain logging lines get the same shape as ours."""
    configure("INFO", timestamps=False)
    logging.getLogger("uvicorn.error").warning("port %d in use", 8080)
    assert capsys.readouterr().err == "WARNING uvicorn.error: port 8080 in use\n"


def test_it_leaves_a_percent_sign_alone(caplog: pytest.LogCaptureFixture) -> None:
    """A "%" in an event or value is text, not a format directive (caplog reads it too)."""
    with caplog.at_level(logging.INFO, logger="alertbot"):
        get_logger("alertbot.test").info("100% done", ratio="50%")
    assert caplog.messages == ["100% done ratio=50%"]


class _Counted:
    """A value that counts how often its text is built."""

    def __init__(self) -> None:
        self.built = 0

    def __str__(self) -> str:
        self.built += 1
        return "v"


def test_an_event_below_the_level_is_never_formatted(capsys: pytest.CaptureFixture[str]) -> None:
    """At WARNING an info event writes nothing and builds no text of its values (the send
    loop logs one per digest); at INFO it is written, values quoted as usual."""
    value = _Counted()
    configure("WARNING", timestamps=False)
    get_logger("alertbot.test").info("digest sent", message_id=value)
    assert (capsys.readouterr().err, value.built) == ("", 0)
    configure("INFO", timestamps=False)
    get_logger("alertbot.test").info("digest sent", message_id=value, to="<a b@c>", n=1)
    assert capsys.readouterr().err == (
        "INFO alertbot.test: digest sent message_id=v to='<a b@c>' n=1\n"
    )
    assert value.built == 1
