"""Settings: TOML file, environment and systemd credentials, in that order of strength."""

from __future__ import annotations

from pathlib import Path

import pytest

from alertbot.config import ConfigError, load_settings
from tests.helpers import REPO


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_it_works_with_no_file_at_all() -> None:
    """Defaults alone give a usable SQLite store in the data folder."""
    settings = load_settings()
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.effective_database_url.endswith("alertbot.sqlite3")


def test_it_reads_the_toml_file_given(tmp_path: Path) -> None:
    """Values in the file given with --config are used."""
    cfg = write(
        tmp_path / "a.toml",
        '[[sources]]\nname = "hf"\nlocation = "https://example.org/x.json"\n'
        '[smtp]\nhost = "mail.example.org"\nport = 465\nsecurity = "ssl"\n',
    )
    settings = load_settings(cfg)
    assert settings.sources[0].name == "hf"
    assert settings.sources[0].format == "auto"
    assert (settings.smtp.host, settings.smtp.port, settings.smtp.security) == (
        "mail.example.org",
        465,
        "ssl",
    )


def test_it_lets_environment_variables_override_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ALERTBOT_ variables with __ for nesting beat the TOML file."""
    cfg = write(tmp_path / "a.toml", "[smtp]\nport = 465\n")
    monkeypatch.setenv("ALERTBOT_SMTP__PORT", "2525")
    monkeypatch.setenv("ALERTBOT_DATABASE_URL", "postgresql://u@db/alertbot")
    settings = load_settings(cfg)
    assert settings.smtp.port == 2525
    assert settings.effective_database_url == "postgresql://u@db/alertbot"


def test_it_finds_the_file_named_by_alertbot_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ALERTBOT_CONFIG does what --config does."""
    cfg = write(tmp_path / "b.toml", "[web]\nport = 9999\n")
    monkeypatch.setenv("ALERTBOT_CONFIG", str(cfg))
    assert load_settings().web.port == 9999


def test_it_finds_alertbot_toml_in_the_working_directory(tmp_path: Path) -> None:
    """./alertbot.toml is the first default location."""
    write(tmp_path / "alertbot.toml", "[web]\nport = 8181\n")
    assert load_settings().web.port == 8181


def test_it_reads_secrets_from_the_systemd_credentials_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files named like the environment variables, in $CREDENTIALS_DIRECTORY, are secrets."""
    creds = tmp_path / "creds"
    creds.mkdir()
    write(creds / "ALERTBOT_SLACK__BOT_TOKEN", "xoxb-from-credential\n")
    write(creds / "ALERTBOT_SMTP__PASSWORD", "hunter2")
    write(creds / "unrelated", "ignored")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    settings = load_settings()
    assert settings.slack.bot_token is not None
    assert settings.slack.bot_token.get_secret_value() == "xoxb-from-credential"
    assert settings.smtp.password is not None
    assert settings.smtp.password.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(settings)


def test_it_names_the_file_and_every_problem(tmp_path: Path) -> None:
    """A bad file is refused with each invalid key listed, not just the first."""
    cfg = write(tmp_path / "bad.toml", 'surprise = 1\n[web]\nport = "eighty"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    message = str(info.value)
    assert str(cfg) in message
    assert "web.port" in message
    assert "surprise" in message


def test_it_refuses_a_missing_config_file(tmp_path: Path) -> None:
    """Naming a file that does not exist is an error, not a silent fallback."""
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml")


def test_it_refuses_a_toml_syntax_error(tmp_path: Path) -> None:
    """Broken TOML is reported with the file name."""
    cfg = write(tmp_path / "broken.toml", "[web\nport = 1\n")
    with pytest.raises(ConfigError, match=r"broken\.toml"):
        load_settings(cfg)


def test_it_refuses_duplicate_source_names(tmp_path: Path) -> None:
    """Two sources with one name would share a fetch log; refuse them."""
    cfg = write(
        tmp_path / "dup.toml",
        '[[sources]]\nname = "a"\nlocation = "x"\n[[sources]]\nname = "a"\nlocation = "y"\n',
    )
    with pytest.raises(ConfigError, match="two sources are named 'a'"):
        load_settings(cfg)


def test_it_allows_plaintext_smtp_only_on_loopback(tmp_path: Path) -> None:
    """security = 'none' would leak credentials unless the relay is on this machine."""
    cfg = write(tmp_path / "smtp.toml", '[smtp]\nhost = "mail.example.org"\nsecurity = "none"\n')
    with pytest.raises(ConfigError, match="loopback"):
        load_settings(cfg)
    cfg = write(tmp_path / "smtp2.toml", '[smtp]\nhost = "127.0.0.1"\nsecurity = "none"\n')
    assert load_settings(cfg).smtp.security == "none"


def test_it_loads_the_commented_example_config() -> None:
    """config/alertbot.example.toml is valid: what the docs show is what works."""
    settings = load_settings(REPO / "config" / "alertbot.example.toml")
    assert settings.sources, "the example should show at least one source"
