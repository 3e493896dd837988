"""Feedback from email: GET never records (mail scanners follow links), POST records once,
a double click records once, and each channel's verdict lands in the one feedback row."""

from __future__ import annotations

from sqlalchemy import select

from alertbot.links import feedback_url, signer_for
from alertbot.model import EndpointKind, FeedbackValue
from alertbot.store import endpoints as endpoint_store
from alertbot.store import feedback
from alertbot.store import subscribers as store
from alertbot.store.schema import feedback as feedback_table
from alertbot.tokens import Signer
from tests.helpers.slack import PUBLIC_URL, RECENT_PAPERS, World, store_recent_papers

PAPER = RECENT_PAPERS[0]


def reader(world: World, name: str = "ada") -> int:
    store_recent_papers(world.engine, world.clock())
    sub = store.create_subscriber(world.engine, name=name, now=world.clock())
    endpoint_store.add_endpoint(
        world.engine, sub.id, EndpointKind.EMAIL, f"{name}@example.org", now=world.clock()
    )
    return sub.id


def link(world: World, sid: int, value: FeedbackValue = "useful", paper_id: str = PAPER.id) -> str:
    return feedback_url(world.settings, sid, paper_id, value)


def rows(world: World) -> list[tuple[int, str, str, str]]:
    with world.engine.connect() as conn:
        result = conn.execute(
            select(
                feedback_table.c.subscriber_id,
                feedback_table.c.paper_id,
                feedback_table.c.value,
                feedback_table.c.channel,
            )
        )
        return [tuple(r) for r in result]


def test_it_builds_the_link_on_the_public_address_bound_to_reader_paper_and_verdict(
    world: World,
) -> None:
    """feedback_url is public_url + /feedback?token=, the token naming all three."""
    url = link(world, 7, "not_useful")
    assert url.startswith(f"{PUBLIC_URL}/feedback?token=")
    claim = signer_for(world.settings).read_feedback(url.split("token=", 1)[1])
    assert (claim.subscriber_id, claim.paper_id, claim.value) == (7, PAPER.id, "not_useful")


def test_a_get_shows_one_button_and_records_nothing(world: World) -> None:
    """What a mail scanner does (GET, even twice) leaves the feedback table empty."""
    sid = reader(world)
    for _ in range(2):
        page = world.http.get(link(world, sid))
        assert page.status_code == 200
        assert '<form method="post"' in page.text
        assert PAPER.title in page.text
    assert rows(world) == []
    assert page.headers["cache-control"] == "no-store"


def test_the_button_records_the_verdict_once(any_world: World) -> None:
    """POST from the page's own form records the verdict, from email, once."""
    sid = reader(any_world)
    page = any_world.http.get(link(any_world, sid))
    action = page.text.split('action="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    done = any_world.http.post(action)
    assert done.status_code == 200
    assert "Recorded" in done.text
    assert rows(any_world) == [(sid, PAPER.id, "useful", "email")]


def test_a_double_click_records_once(any_world: World) -> None:
    """The same POST twice leaves one row, its time that of the first click."""
    sid = reader(any_world)
    first_at = any_world.clock()
    assert any_world.http.post(link(any_world, sid)).status_code == 200
    any_world.clock.advance(seconds=1)
    assert any_world.http.post(link(any_world, sid)).status_code == 200
    assert rows(any_world) == [(sid, PAPER.id, "useful", "email")]
    with any_world.engine.connect() as conn:
        at = conn.execute(select(feedback_table.c.at)).scalar_one()
    assert at == first_at


def test_the_other_link_changes_the_verdict(world: World) -> None:
    """'Not useful' after 'useful' replaces it: still one row per (reader, paper)."""
    sid = reader(world)
    world.http.post(link(world, sid, "useful"))
    world.http.post(link(world, sid, "not_useful"))
    assert rows(world) == [(sid, PAPER.id, "not_useful", "email")]


def test_slack_and_email_verdicts_land_in_one_row(world: World) -> None:
    """A Slack button then an email link on the same paper: one row, the latest verdict."""
    sid = reader(world)
    feedback.record_feedback(world.engine, sid, PAPER.id, "useful", now=world.clock())
    world.http.post(link(world, sid, "not_useful"))
    assert rows(world) == [(sid, PAPER.id, "not_useful", "email")]
    assert feedback.get_feedback(world.engine, sid) == {PAPER.id: "not_useful"}


def test_it_refuses_forged_altered_and_foreign_tokens(world: World) -> None:
    """Another key's token, a cut token, an unsubscribe token, a deleted reader and an
    unknown paper each get a 400 and record nothing."""
    sid = reader(world)
    other_key = Signer("another-secret-key-0123456789").feedback_token(sid, PAPER.id, "useful")
    good = link(world, sid).split("token=", 1)[1]
    unsubscribe = signer_for(world.settings).unsubscribe_token(sid, 1)
    gone = store.create_subscriber(world.engine, name="gone", now=world.clock())
    gone_link = link(world, gone.id)
    store.delete_subscriber(world.engine, gone.id)
    for url in (
        f"/feedback?token={other_key}",
        f"/feedback?token={good[:-3]}",
        f"/feedback?token={unsubscribe}",
        "/feedback",
        "/feedback?token=" + "x" * 5000,
        gone_link,
        link(world, sid, paper_id="2603.99999"),
    ):
        assert world.http.get(url).status_code == 400, url
        assert world.http.post(url).status_code == 400, url
    assert rows(world) == []


def test_the_service_serves_the_feedback_page(world: World) -> None:
    """alertbot run's routes include /feedback (not only this test app)."""
    from alertbot.service import extra_routes

    paths = {
        getattr(r, "path", None)
        for r in extra_routes(world.engine, world.settings, now=world.clock)
    }
    assert "/feedback" in paths
