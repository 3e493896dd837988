"""``alertbot subscribers ...`` and ``alertbot digest preview`` against a real SQLite file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner, Result

from alertbot.cli import app
from alertbot.store import connect, migrate
from alertbot.store import endpoints as endpoint_store
from alertbot.store import subscribers as subs
from alertbot.store.papers import upsert_papers
from alertbot.store.schema import delivered_papers, endpoints, outbox
from tests.helpers import REPO
from tests.helpers.builders import paper

EXAMPLE = REPO / "config" / "subscribers.example.toml"


@pytest.fixture
def db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The database the CLI uses (ALERTBOT_DATABASE_URL), opened for checking."""
    monkeypatch.setenv("ALERTBOT_DATABASE_URL", sqlite_url)
    engine = connect(sqlite_url)
    migrate(engine)
    yield engine
    engine.dispose()


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input)


def _add_ada() -> Result:
    return run(
        "subscribers", "add", "--name", "Ada", "--email", "Ada@Example.ORG",
        "--interest", '"graph neural"', "--interest", "diffusion", "--exclude", "survey",
        "--tz", "Europe/Paris", "--time", "7:30", "--frequency", "weekly", "--day", "fri",
        "--max-papers", "5",
    )  # fmt: skip


def test_it_adds_a_subscriber_with_profile_schedule_and_channel(db: Engine) -> None:
    """add stores what was given, normalising the address and the time."""
    result = _add_ada()
    assert result.exit_code == 0, result.output
    sub = subs.find_subscriber(db, "Ada")
    assert sub is not None
    assert sub.profile.interests == ('"graph neural"', "diffusion")
    assert sub.profile.exclusions == ("survey",)
    assert (sub.timezone, sub.send_time.isoformat(), sub.weekly_day) == (
        "Europe/Paris",
        "07:30:00",
        4,
    )
    assert sub.profile.max_papers == 5
    assert [(e.kind.value, e.address) for e in sub.endpoints] == [("email", "Ada@example.org")]


def test_it_reports_every_invalid_option_and_stores_nothing(db: Engine) -> None:
    """Bad address, zone, time and query are all reported (query with its column); exit 2."""
    result = run(
        "subscribers", "add", "--name", "Bob", "--email", "bob@", "--tz", "Mars/Olympus",
        "--time", "25:00", "--interest", 'graph "neural', "--interest", "ok",
        "--interest", "a OR",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--email: not a valid email address: 'bob@'" in result.stderr
    assert "--tz: unknown time zone 'Mars/Olympus'" in result.stderr
    assert "--time: not a time of day: '25:00'" in result.stderr
    assert "--interest: interest 1 'graph \"neural': " in result.stderr
    assert "at column 7" in result.stderr
    assert "--interest: interest 3 'a OR': " in result.stderr
    assert subs.list_subscribers(db) == []


def test_it_refuses_a_second_subscriber_with_the_same_name(db: Engine) -> None:
    """Names identify subscribers (import, show): add refuses a duplicate with exit 2."""
    assert _add_ada().exit_code == 0
    again = _add_ada()
    assert again.exit_code == 2
    assert "exists" in again.stderr
    assert len(subs.list_subscribers(db)) == 1


def test_it_lists_and_shows_subscribers(db: Engine) -> None:
    """list has one row per subscriber; show numbers interests and shows disabled reasons."""
    _add_ada()
    sub = subs.find_subscriber(db, "Ada")
    assert sub is not None
    endpoint_store.set_endpoint_active(
        db, sub.endpoints[0].id, False, reason="smtp 550 no such user"
    )
    listed = run("subscribers", "list")
    assert listed.exit_code == 0
    assert "Ada" in listed.stdout
    assert "weekly on fri" in listed.stdout
    shown = run("subscribers", "show", "Ada")
    assert shown.exit_code == 0
    assert 'interest 1: "graph neural"' in shown.stdout
    assert "exclusion 1: survey" in shown.stdout
    assert "disabled: smtp 550 no such user" in shown.stdout


def test_it_edits_only_what_is_given(db: Engine) -> None:
    """edit changes the named fields, adds/removes interests and keeps the rest."""
    _add_ada()
    result = run(
        "subscribers", "edit", "Ada", "--tz", "Asia/Tokyo", "--remove-interest", "1",
        "--add-interest", "mamba", "--slack-user", "T0AB12:U0CD34",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    sub = subs.find_subscriber(db, "Ada")
    assert sub is not None
    assert sub.timezone == "Asia/Tokyo"
    assert sub.profile.interests == ("diffusion", "mamba")
    assert sub.profile.exclusions == ("survey",)
    assert sub.send_time.isoformat() == "07:30:00"
    assert [e.kind.value for e in sub.endpoints] == ["email", "slack_user"]


def test_it_refuses_to_remove_an_interest_that_does_not_exist(db: Engine) -> None:
    """Removing interest 9 of 2 is a usage error and changes nothing."""
    _add_ada()
    result = run("subscribers", "edit", "Ada", "--remove-interest", "9")
    assert result.exit_code == 2
    assert "no interest number 9" in result.stderr


def test_it_pauses_and_resumes(db: Engine) -> None:
    """pause and resume flip the active flag."""
    _add_ada()
    assert run("subscribers", "pause", "Ada").exit_code == 0
    assert subs.find_subscriber(db, "Ada").active is False  # type: ignore[union-attr]
    assert run("subscribers", "resume", "1").exit_code == 0
    assert subs.find_subscriber(db, "Ada").active is True  # type: ignore[union-attr]


def test_it_asks_before_removing(db: Engine) -> None:
    """remove asks; "n" keeps the subscriber (exit 1), --yes removes without asking."""
    _add_ada()
    kept = run("subscribers", "remove", "Ada", input="n\n")
    assert kept.exit_code == 1
    assert subs.find_subscriber(db, "Ada") is not None
    assert run("subscribers", "remove", "Ada", "--yes").exit_code == 0
    assert subs.find_subscriber(db, "Ada") is None


def test_it_says_when_a_subscriber_does_not_exist(db: Engine) -> None:
    """An unknown name or id exits 1 with a hint."""
    result = run("subscribers", "show", "Nobody")
    assert result.exit_code == 1
    assert "no subscriber 'Nobody'" in result.stderr


def test_it_imports_the_documented_example_idempotently(db: Engine) -> None:
    """The example file imports; importing it again updates and duplicates nothing."""
    first = run("subscribers", "import", str(EXAMPLE))
    assert first.exit_code == 0, first.output
    assert "3 new, 0 updated" in first.stdout
    second = run("subscribers", "import", str(EXAMPLE))
    assert "0 new, 3 updated" in second.stdout
    assert len(subs.list_subscribers(db)) == 3
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(endpoints)).scalar_one() == 4
    grace = subs.find_subscriber(db, "Grace Hopper")
    assert grace is not None
    assert (grace.slack_team_id, grace.slack_user_id) == ("T0123ABC", "U0789GHI")


def test_it_imports_nothing_when_any_entry_is_wrong(db: Engine, tmp_path: Path) -> None:
    """Every problem is listed with its entry, name and field; no entry is imported."""
    bad = tmp_path / "subs.toml"
    bad.write_text(
        '[[subscriber]]\nname = "Good"\nemail = "good@example.org"\ninterests = ["graph"]\n'
        '[[subscriber]]\nname = "Bad"\ntimezone = "Nowhere/Land"\ninterests = ["(open"]\n'
        'colour = "blue"\n'
        '[[subscriber]]\nemail = "x@example.org"\n'
        '[[subscriber]]\nname = "Good"\n'
    )
    result = run("subscribers", "import", str(bad))
    assert result.exit_code == 2
    err = result.stderr
    assert "entry 2 (Bad): timezone: unknown time zone 'Nowhere/Land'" in err
    assert "entry 2 (Bad): interests: interest 1 '(open'" in err
    assert "entry 2 (Bad): colour: unknown field" in err
    assert "entry 3: name: required" in err
    assert "entry 4 (Good): name: also used by entry 1" in err
    assert "5 problem(s), nothing imported" in err
    assert subs.list_subscribers(db) == []


def test_it_imports_json_too(db: Engine, tmp_path: Path) -> None:
    """A JSON list of the same entries is accepted."""
    data = tmp_path / "subs.json"
    data.write_text(json.dumps([{"name": "J", "slack_channel": "T01AB:C02CD", "day": 2}]))
    result = run("subscribers", "import", str(data))
    assert result.exit_code == 0, result.output
    sub = subs.find_subscriber(db, "J")
    assert sub is not None
    assert (sub.endpoints[0].kind.value, sub.endpoints[0].address) == ("slack_channel", "C02CD")
    assert sub.weekly_day == 2


def test_it_validates_without_importing_on_dry_run(db: Engine) -> None:
    """--dry-run checks and counts, and writes nothing."""
    result = run("subscribers", "import", str(EXAMPLE), "--dry-run")
    assert result.exit_code == 0
    assert "would import 3" in result.stdout
    assert subs.list_subscribers(db) == []


def test_it_previews_a_digest_without_sending_anything(db: Engine, tmp_path: Path) -> None:
    """preview prints the ranked papers and writes HTML, text and Slack JSON; no outbox
    row and no delivery mark is written."""
    _add_ada()
    now = datetime.now(UTC)
    upsert_papers(
        db,
        [
            paper(1, title="Graph neural diffusion <b>"),
            paper(2, title="Unrelated botany", abstract="Leaves and roots."),
        ],
        source="t",
        now=now,
    )
    html, slack, text = tmp_path / "d.html", tmp_path / "d.json", tmp_path / "d.txt"
    result = run(
        "digest", "preview", "Ada", "--date", "2026-11-27",
        "--html", str(html), "--slack-json", str(slack), "--text", str(text),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1 paper(s) from 2 new candidate(s)" in result.stdout
    assert "Fri 27 Nov" in result.stdout
    assert "Graph neural diffusion &lt;b&gt;" in html.read_text()
    assert text.read_text().startswith("Subject: alertbot: 1 new paper for you - Fri 27 Nov")
    payload = json.loads(slack.read_text())
    assert payload["text"]
    assert len(payload["blocks"]) <= 50
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(outbox)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(delivered_papers)).scalar_one() == 0


def test_it_rejects_a_bad_preview_date(db: Engine) -> None:
    """--date must be YYYY-MM-DD: exit 2."""
    _add_ada()
    result = run("digest", "preview", "Ada", "--date", "friday")
    assert result.exit_code == 2
