"""`alertbot config check` on the mistakes an operator makes: every one caught, in one run.

Each problem is one line that says where the value came from (``file:line``, the
environment variable or the credential file), which key, what is wrong and what to do
(a did-you-mean for a misspelt key, the fix for a missing partner). Exit code 2.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import BaseModel
from typer.testing import Result

from alertbot.config import Settings
from alertbot.model import EndpointKind
from alertbot.store import connect, migrate
from alertbot.store import endpoints as endpoint_store
from alertbot.store import subscribers as subscriber_store
from tests.helpers.cli import run

# (id, settings file, environment, [(origin, key, what the line must also say)])
Case = tuple[str, str, dict[str, str], list[tuple[str, str, str]]]
F = "alertbot.toml"

SECTION_TYPOS: list[Case] = [
    ("top level", 'data_dri = "x"\n', {}, [(f"{F}:1", "data_dri", "did you mean 'data_dir'?")]),
    (
        "sources",
        '[[sources]]\nname = "a"\nlocation = "."\nfromat = "auto"\nshedule = "every 2h"\n',
        {},
        [
            (f"{F}:4", "sources.0.fromat", "did you mean 'format'?"),
            (f"{F}:5", "sources.0.shedule", "did you mean 'schedule'?"),
        ],
    ),
    ("http", "[http]\nretrys = 2\n", {}, [(f"{F}:2", "http.retrys", "did you mean 'retries'?")]),
    ("web", "[web]\nprot = 8081\n", {}, [(f"{F}:2", "web.prot", "did you mean 'port'?")]),
    (
        "smtp",
        '[smtp]\nhostname = "127.0.0.1"\n',
        {},
        [(f"{F}:2", "smtp.hostname", "did you mean 'host'?")],
    ),
    (
        "slack",
        '[slack]\napi_uri = "https://slack.com/api/"\n',
        {},
        [(f"{F}:2", "slack.api_uri", "did you mean 'api_url'?")],
    ),
    (
        "delivery",
        "[delivery]\nlease_secnds = 30\n",
        {},
        [(f"{F}:2", "delivery.lease_secnds", "did you mean 'lease_seconds'?")],
    ),
    (
        "match",
        "[match]\ncorpus_day = 7\n",
        {},
        [(f"{F}:2", "match.corpus_day", "did you mean 'corpus_days'?")],
    ),
    (
        "subscribe",
        "[subscribe]\nmax_interest = 7\n",
        {},
        [(f"{F}:2", "subscribe.max_interest", "did you mean 'max_interests'?")],
    ),
    (
        "learn",
        "[learn]\nmin_usefull = 3\n",
        {},
        [(f"{F}:2", "learn.min_usefull", "did you mean 'min_useful'?")],
    ),
    (
        "outgoing_mail",
        "[outgoing_mail]\nper_adress = 3\n",
        {},
        [(f"{F}:2", "outgoing_mail.per_adress", "did you mean 'per_address'?")],
    ),
    (
        "schedule",
        "[schedule]\nfetch_on_strat = false\n",
        {},
        [(f"{F}:2", "schedule.fetch_on_strat", "did you mean 'fetch_on_start'?")],
    ),
    (
        "retention",
        "[retention]\nfetch_log_day = 9\n",
        {},
        [(f"{F}:2", "retention.fetch_log_day", "did you mean 'fetch_log_days'?")],
    ),
]

VALUE_MISTAKES: list[Case] = [
    (
        "wrong type",
        '\n[web]\nport = "eighty"\n',
        {},
        [(f"{F}:3", "web.port", "not 'eighty'")],
    ),
    (
        "bad enum",
        '[smtp]\nsecurity = "tls"\n',
        {},
        [(f"{F}:2", "smtp.security", "'ssl', 'starttls' or 'none', not 'tls'")],
    ),
    (
        "bad log level",
        'log_level = "LOUD"\n',
        {},
        [(f"{F}:1", "log_level", "'DEBUG', 'INFO', 'WARNING' or 'ERROR', not 'LOUD'")],
    ),
    (
        "missing file source",
        '[[sources]]\nname = "dumps"\nlocation = "./no-such-folder/"\n',
        {},
        [(f"{F}:3", "sources.0.location", "does not exist")],
    ),
    (
        "environment variable",
        "[smtp]\nport = 25\n",
        {"ALERTBOT_SMTP__PORT": "abc"},
        [("environment ALERTBOT_SMTP__PORT", "smtp.port", "not 'abc'")],
    ),
    (
        "misspelt environment variable",
        "",
        {"ALERTBOT_SMTP__HOSTNAME": "127.0.0.1"},
        [("environment ALERTBOT_SMTP__HOSTNAME", "smtp.hostname", "did you mean 'host'?")],
    ),
    (
        "partner missing",
        '[smtp]\nusername = "bot"\n',
        {},
        [(f"{F}:2", "smtp.username", "set ALERTBOT_SMTP__PASSWORD")],
    ),
]


def check(
    tmp_path: Path, text: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Result:
    (tmp_path / F).write_text(text, encoding="utf-8")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return run("config", "check")


def problem_lines(result: Result) -> list[str]:
    return [line[4:] for line in result.stderr.splitlines() if line.startswith("  - ")]


def assert_reported(lines: list[str], expected: list[tuple[str, str, str]]) -> None:
    for origin, key, says in expected:
        found = [line for line in lines if line.startswith(f"{origin}: {key}: ")]
        assert found, f"no line for {origin}: {key} in {lines}"
        assert says in found[0], found[0]


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [pytest.param(text, env, exp, id=name) for name, text, env, exp in SECTION_TYPOS],
)
def test_it_names_a_misspelt_key_in_every_section_with_a_suggestion(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    env: dict[str, str],
    expected: list[tuple[str, str, str]],
) -> None:
    """An unknown key in any table is a problem at its line, with the closest real key."""
    result = check(tmp_path, text, env, monkeypatch)
    assert result.exit_code == 2, result.output
    lines = problem_lines(result)
    assert len(lines) == len(expected), lines
    assert_reported(lines, expected)


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [pytest.param(text, env, exp, id=name) for name, text, env, exp in VALUE_MISTAKES],
)
def test_it_says_where_each_bad_value_came_from(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    env: dict[str, str],
    expected: list[tuple[str, str, str]],
) -> None:
    """A wrong type, choice or path is reported at its origin: the line, or the variable."""
    result = check(tmp_path, text, env, monkeypatch)
    assert result.exit_code == 2, result.output
    lines = problem_lines(result)
    assert len(lines) == len(expected), lines
    assert_reported(lines, expected)


def test_an_environment_error_is_not_blamed_on_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ALERTBOT_SMTP__PORT=abc names the variable, even though the file sets smtp.port too."""
    result = check(tmp_path, "[smtp]\nport = 25\n", {"ALERTBOT_SMTP__PORT": "abc"}, monkeypatch)
    (line,) = problem_lines(result)
    assert line.startswith("environment ALERTBOT_SMTP__PORT: smtp.port: ")
    assert F not in line


def test_a_credential_error_names_the_credential_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad value read from $CREDENTIALS_DIRECTORY names that file."""
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "ALERTBOT_WEB__PORT").write_text("not-a-port\n", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    result = check(tmp_path, "", {}, monkeypatch)
    (line,) = problem_lines(result)
    assert line.startswith(f"credential {creds / 'ALERTBOT_WEB__PORT'}: web.port: ")


def _store_with_slack_readers(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    engine = connect(url)
    migrate(engine)
    now = datetime.now(UTC)
    for name, team, user in (("Ann", "T01", "U01"), ("Bo", "T01", "U02")):
        sub = subscriber_store.create_subscriber(engine, name=name, now=now)
        endpoint_store.add_endpoint(
            engine, sub.id, EndpointKind.SLACK_USER, user, now=now, slack_team_id=team
        )
    engine.dispose()
    return url


def test_it_catches_slack_readers_without_a_bot_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Subscribers with Slack endpoints and no slack.bot_token: the fix is in the message."""
    url = _store_with_slack_readers(tmp_path)
    result = check(tmp_path, f'database_url = "{url}"\n', {}, monkeypatch)
    assert result.exit_code == 2
    (line,) = problem_lines(result)
    assert line.startswith("slack.bot_token: unset, but 2 subscriber(s) have Slack endpoints")
    assert "set ALERTBOT_SLACK__BOT_TOKEN or remove the Slack endpoints of 2 subscriber" in line
    monkeypatch.setenv("ALERTBOT_SLACK__BOT_TOKEN", "xoxb-set")
    assert run("config", "check").exit_code == 0


def test_it_lists_every_mistake_of_every_kind_in_one_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All the mistakes above at once: each reported once, with its origin, in one run."""
    url = _store_with_slack_readers(tmp_path)
    text = "\n".join(
        [
            f'database_url = "{url}"',
            'log_level = "LOUD"',
            "[[sources]]",
            'name = "typo"',
            'location = "."',
            'fromat = "auto"',
            "[[sources]]",
            'name = "missing"',
            'location = "./no-such-folder/"',
            "[web]",
            'port = "eighty"',
            "[smtp]",
            'hostname = "127.0.0.1"',
            'security = "tls"',
            "[delivery]",
            "lease_secnds = 30",
            "",
        ]
    )
    result = check(tmp_path, text, {"ALERTBOT_HTTP__RETRIES": "lots"}, monkeypatch)
    assert result.exit_code == 2
    lines = problem_lines(result)
    expected = [
        (f"{F}:2", "log_level", "not 'LOUD'"),
        (f"{F}:6", "sources.0.fromat", "did you mean 'format'?"),
        (f"{F}:9", "sources.1.location", "does not exist"),
        (f"{F}:11", "web.port", "not 'eighty'"),
        (f"{F}:13", "smtp.hostname", "did you mean 'host'?"),
        (f"{F}:14", "smtp.security", "not 'tls'"),
        (f"{F}:16", "delivery.lease_secnds", "did you mean 'lease_seconds'?"),
        ("environment ALERTBOT_HTTP__RETRIES", "http.retries", "not 'lots'"),
        ("slack.bot_token", "", "remove the Slack endpoints of 2 subscriber"),
    ]
    assert len(lines) == len(expected), "\n".join(lines)
    assert_reported(lines[:-1], expected[:-1])
    assert any(line.startswith("slack.bot_token: unset") for line in lines)
    assert f"{F}: {len(expected)} problem(s)" in result.stderr


def test_the_table_covers_every_section_of_the_settings() -> None:
    """A section added to Settings later must get its row above."""
    sections = {
        name
        for name, field in Settings.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
    } | {"sources"}
    covered = {name for name, *_ in SECTION_TYPOS}
    assert sections <= covered, sections - covered
