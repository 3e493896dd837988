"""The live preview matches what ``alertbot match`` finds in the same papers for the same
profile, and renders them as the digest does."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from alertbot.model import Profile
from alertbot.samples import sample_dump_paths
from alertbot.sources import load_papers
from alertbot.store.papers import upsert_papers
from alertbot.web.preview import Previewer
from tests.helpers.cli import run
from tests.helpers.web import Accounts

# A real listing (the bundled Hugging Face papers sample: 42 papers).
DUMP = next(p for p in sample_dump_paths() if p.name == "hf-papers-blocks.txt")
PROFILES = [
    (["language model*"], []),
    (['"reinforcement learning" OR agent*', "ti:(diffusion OR transformer)"], ["survey"]),
    (["learning"], ["ti:language", "video"]),
]


@pytest.fixture
def stored(accounts: Accounts) -> Accounts:
    """The real listing's papers, stored yesterday (inside the preview's window)."""
    papers = load_papers(str(DUMP), format="auto", now=accounts.clock())
    upsert_papers(accounts.engine, papers, source="rss", now=accounts.clock() - timedelta(days=1))
    return accounts


def cli_matches(interests: list[str], exclusions: list[str]) -> list[tuple[str, float]]:
    args = [str(DUMP), "--json"]
    for query in interests:
        args += ["--query", query]
    for query in exclusions:
        args += ["--exclude", query]
    result = run("match", *args)
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return [(row["paper_id"], row["score"]) for row in rows]


@pytest.mark.parametrize(("interests", "exclusions"), PROFILES)
def test_the_preview_matches_what_alertbot_match_finds(
    stored: Accounts, interests: list[str], exclusions: list[str]
) -> None:
    """Same count, and the digest's first papers are the CLI's first, in its order."""
    sub = stored.sign_up(interest=interests[0])
    expected = cli_matches(interests, exclusions)
    assert expected, "the profile should match something in the feed"
    preview = Previewer(stored.engine, stored.settings, now=stored.clock).preview(
        sub, Profile(tuple(interests), tuple(exclusions))
    )
    assert preview.error is None
    assert preview.checked >= preview.total == len(expected)
    assert list(preview.paper_ids) == [pid for pid, _ in expected][: preview.cap]


def test_the_preview_page_says_the_count_and_shows_the_cap(stored: Accounts) -> None:
    """/account/preview: "N of M papers match", the cap, and the digest's "and N more"."""
    stored.sign_up(interest="learning")
    stored.sign_in()
    expected = cli_matches(["learning"], [])
    assert len(expected) > 20  # more than the cap of a digest
    fragment = stored.http.get("/account/preview", params={"interest": "learning"}).text
    assert f'data-total="{len(expected)}"' in fragment
    assert "Your digest shows at most 20" in fragment
    assert fragment.count('<div class="paper">') == 20
    assert f"… and {len(expected) - 20} more matching papers not shown." in fragment
    assert "<mark>" in fragment
    assert "Why:" in fragment


def test_the_preview_shows_a_typo_at_its_column(stored: Accounts) -> None:
    """A draft that does not parse is reported with its column, and nothing is matched."""
    stored.sign_up()
    stored.sign_in()
    fragment = stored.http.get("/account/preview", params={"interest": "graph AND"}).text
    assert 'data-column="7"' in fragment
    assert "AND needs a term after it, at column 7" in fragment
    assert 'id="preview-count"' not in fragment


def test_the_preview_needs_a_session(stored: Accounts) -> None:
    """Signed out, the preview answers 401 and shows no papers."""
    response = stored.http.get("/account/preview", params={"interest": "learning"})
    assert response.status_code == 401
