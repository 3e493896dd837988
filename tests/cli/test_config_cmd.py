"""`alertbot config check` and `alertbot config show`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alertbot.cli import app
from tests.helpers import REPO

runner = CliRunner()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_it_accepts_the_example_config(tmp_path: Path) -> None:
    """The commented example passes the check with exit code 0 (once its folder exists)."""
    (tmp_path / "dumps").mkdir()
    result = runner.invoke(app, ["config", "check", str(REPO / "config/alertbot.example.toml")])
    assert result.exit_code == 0, result.output
    assert "ok" in result.stdout


def test_it_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    """Type errors, bad schedules and unknown formats are all reported in one run."""
    cfg = write(
        tmp_path / "bad.toml",
        '[[sources]]\nname = "a"\nlocation = "x"\nschedule = "every 5 minutes"\n'
        'format = "xml"\n[[sources]]\nname = "b"\nlocation = "y"\nschedule = "61 * * * *"\n'
        '[web]\nport = "eighty"\n[schedule]\ncleanup_cron = "daily"\n',
    )
    result = runner.invoke(app, ["config", "check", str(cfg)])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert len(lines) == 5, result.stderr
    for line, key in (
        (4, "sources.0.schedule"),
        (5, "sources.0.format"),
        (9, "sources.1.schedule"),
        (11, "web.port"),
        (13, "schedule.cleanup_cron"),
    ):
        assert any(x.startswith(f"  - {cfg}:{line}: {key}:") for x in lines), key


def test_it_reports_settings_that_need_a_partner(tmp_path: Path) -> None:
    """An SMTP user without a password and a non-http public URL are problems."""
    cfg = write(
        tmp_path / "pair.toml",
        '[smtp]\nusername = "bot"\n[web]\npublic_url = "example.org"\n',
    )
    result = runner.invoke(app, ["config", "check", str(cfg)])
    assert result.exit_code == 2
    assert "smtp.password" in result.stderr
    assert "web.public_url" in result.stderr


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://alerts.example.org", True),
        ("http://alerts.example.org", False),
        ("http://127.0.0.1:8080", True),
        ("http://localhost:8080", True),
    ],
)
def test_unsubscribe_links_must_be_https_beyond_loopback(
    tmp_path: Path, url: str, ok: bool
) -> None:
    """Links carrying unsubscribe tokens go over HTTPS; plain http only for a local trial."""
    cfg = write(tmp_path / "web.toml", f'[web]\npublic_url = "{url}"\n')
    result = runner.invoke(app, ["config", "check", str(cfg)])
    assert (result.exit_code == 0) is ok, result.stderr
    assert ("must be https" in result.stderr) is not ok


def test_it_warns_when_emails_would_carry_loopback_links(tmp_path: Path) -> None:
    """SMTP configured with a loopback public URL passes, with a warning saying why it is odd."""
    cfg = write(tmp_path / "mail.toml", '[smtp]\nhost = "127.0.0.1"\nsecurity = "none"\n')
    result = runner.invoke(app, ["config", "check", str(cfg)])
    assert result.exit_code == 0, result.stderr
    assert "warning: web.public_url" in result.stderr
    assert "only work on this machine" in result.stderr


def test_a_worker_needs_the_shared_database_and_key(tmp_path: Path) -> None:
    """run --worker without database_url or secret_key would use its own; it refuses to start."""
    cfg = write(tmp_path / "worker.toml", f'data_dir = "{tmp_path / "data"}"\n')
    result = runner.invoke(app, ["run", "--worker", "--config", str(cfg)])
    assert result.exit_code == 2
    assert "database_url: a --worker" in result.stderr
    assert "secret_key: a --worker" in result.stderr
    assert not (tmp_path / "data").exists()


def test_it_checks_the_file_named_by_config_when_none_is_given(tmp_path: Path) -> None:
    """Without FILE, check reads the file --config names."""
    cfg = write(tmp_path / "c.toml", '[schedule]\ncleanup_cron = "not cron"\n')
    result = runner.invoke(app, ["config", "check", "--config", str(cfg)])
    assert result.exit_code == 2
    assert "schedule.cleanup_cron" in result.stderr


def test_it_refuses_a_missing_file(tmp_path: Path) -> None:
    """A file that does not exist is a problem, not the defaults."""
    result = runner.invoke(app, ["config", "check", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert "not found" in result.stderr


SECRETS = {
    "ALERTBOT_SMTP__PASSWORD": "hunter2-smtp",
    "ALERTBOT_SLACK__BOT_TOKEN": "xoxb-secret-bot",
    "ALERTBOT_SLACK__SIGNING_SECRET": "signing-secret-123",
    "ALERTBOT_SECRET_KEY": "the-secret-key",
    "ALERTBOT_DATABASE_URL": "postgresql://alertbot:db-password-9@db.example.org/alertbot",
}


@pytest.mark.parametrize("as_json", [False, True], ids=["toml", "json"])
def test_it_shows_the_effective_settings_with_secrets_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_json: bool
) -> None:
    """config show prints file and environment values but never a secret."""
    cfg = write(
        tmp_path / "s.toml",
        '[[sources]]\nname = "feed"\nlocation = "https://u:url-pass-7@example.org/x"\n'
        '[smtp]\nhost = "mail.example.org"\nusername = "bot"\n',
    )
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    result = runner.invoke(app, ["config", "show", "--config", str(cfg), *(["--json"] * as_json)])
    assert result.exit_code == 0, result.output
    for secret in ("hunter2-smtp", "xoxb-secret-bot", "signing-secret-123", "the-secret-key"):
        assert secret not in result.stdout
    assert "db-password-9" not in result.stdout
    assert "url-pass-7" not in result.stdout
    assert "mail.example.org" in result.stdout
    assert "db.example.org" in result.stdout
    if as_json:
        data = json.loads(result.stdout)
        assert data["smtp"]["password"] == "**********"
        assert data["slack"]["signing_secret"] == "**********"
        assert data["sources"][0]["location"] == "https://u:**********@example.org/x"


def test_it_reads_secrets_from_the_credentials_directory_but_masks_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A LoadCredential= file is used (shown as set) and still never printed."""
    creds = tmp_path / "creds"
    creds.mkdir()
    write(creds / "ALERTBOT_SMTP__PASSWORD", "from-credential-5\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    result = runner.invoke(app, ["config", "show", "--json"])
    assert result.exit_code == 0, result.output
    assert "from-credential-5" not in result.stdout
    assert json.loads(result.stdout)["smtp"]["password"] == "**********"
