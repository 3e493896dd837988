"""Feedback on the digest page: GET never records, the form's POST records once (with
or without JavaScript), its CSRF token is the reader's own, and the verdict lands in
the one feedback row the Slack buttons and email links use."""

from __future__ import annotations

from sqlalchemy import select

from alertbot.links import signer_for
from alertbot.store import feedback
from alertbot.store.outbox import OutboxRow
from alertbot.store.schema import feedback as feedback_table
from alertbot.tokens import Signer
from tests.helpers.digests import form_fields, page_link, papers, queued
from tests.helpers.slack import World

BEYOND_CAP = "2603.00004"  # ranked 5th of 6 with a cap of 2: only on the page


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


def digest(world: World) -> OutboxRow:
    row = queued(world, papers(6), {"ada": ("diffusion",)}, cap=2)["ada"]
    assert BEYOND_CAP in {m.paper_id for m in row.rest()}
    return row


def form(world: World, row: OutboxRow, paper_id: str = BEYOND_CAP) -> tuple[str, dict[str, str]]:
    page = world.http.get(page_link(world, row))
    assert page.status_code == 200
    return form_fields(page.text, paper_id)


def test_opening_the_page_records_nothing(world: World) -> None:
    """What a mail scanner does (GET, HEAD, twice) leaves the feedback table empty."""
    row = digest(world)
    for _ in range(2):
        assert world.http.get(page_link(world, row)).status_code == 200
        assert world.http.head(page_link(world, row)).status_code == 200
    assert rows(world) == []


def test_the_form_without_javascript_records_and_comes_back(world: World) -> None:
    """The plain form's POST records the verdict from the web and redirects (303) to the
    page at that paper, which then shows the verdict pressed."""
    row = digest(world)
    action, fields = form(world, row)
    done = world.http.post(action, data={**fields, "value": "useful"}, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"].endswith(f"#p-{BEYOND_CAP}")
    assert rows(world) == [(row.subscriber_id, BEYOND_CAP, "useful", "web")]
    back = world.http.get(done.headers["location"])
    section = back.text.split(f'id="p-{BEYOND_CAP}"', 1)[1].split("</section>", 1)[0]
    assert 'value="useful" aria-pressed="true"' in section
    assert 'value="not_useful" aria-pressed="false"' in section


def test_the_script_gets_json_and_no_redirect(world: World) -> None:
    """Asked for JSON (the page's script), the POST answers 200 with the verdict."""
    row = digest(world)
    action, fields = form(world, row)
    done = world.http.post(
        action, data={**fields, "value": "not_useful"}, headers={"Accept": "application/json"}
    )
    assert done.status_code == 200
    assert done.json() == {"paper": BEYOND_CAP, "value": "not_useful", "changed": True}
    assert rows(world) == [(row.subscriber_id, BEYOND_CAP, "not_useful", "web")]


def test_a_double_post_records_once(any_world: World) -> None:
    """The same POST twice: one row, the second says nothing changed, time of the first."""
    row = digest(any_world)
    action, fields = form(any_world, row)
    first_at = any_world.clock()
    json = {"Accept": "application/json"}
    first = any_world.http.post(action, data={**fields, "value": "useful"}, headers=json)
    any_world.clock.advance(seconds=1)
    second = any_world.http.post(action, data={**fields, "value": "useful"}, headers=json)
    assert (first.json()["changed"], second.json()["changed"]) == (True, False)
    assert rows(any_world) == [(row.subscriber_id, BEYOND_CAP, "useful", "web")]
    with any_world.engine.connect() as conn:
        assert conn.execute(select(feedback_table.c.at)).scalar_one() == first_at


def test_it_refuses_a_post_without_the_readers_csrf_token(world: World) -> None:
    """No token, another key's, another reader's, a cut one or a link token in its place:
    403, nothing recorded."""
    rows_ = queued(world, papers(6), {"ada": ("diffusion",), "bob": ("diffusion",)}, cap=2)
    row, bob = rows_["ada"], rows_["bob"]
    action, fields = form(world, row)
    signer = signer_for(world.settings)
    for csrf in (
        None,
        Signer("another-secret-key-0123456789").page_form_token(row.subscriber_id),
        signer.page_form_token(bob.subscriber_id),
        fields["csrf"][:-2],
        signer.archive_token(row.subscriber_id),
    ):
        data = {**fields, "value": "useful"}
        if csrf is None:
            del data["csrf"]
        else:
            data["csrf"] = csrf
        assert world.http.post(action, data=data).status_code == 403, csrf
    assert rows(world) == []


def test_it_refuses_feedback_on_another_readers_digest_or_another_paper(world: World) -> None:
    """Ada's link and form on Bob's digest id, or on a paper not in her digest, or a
    verdict that is neither: refused, nothing recorded."""
    rows_ = queued(world, papers(6), {"ada": ("diffusion",), "bob": ("diffusion",)}, cap=2)
    row, bob = rows_["ada"], rows_["bob"]
    action, fields = form(world, row)
    on_bob = action.replace(f"/digest/{row.id}/", f"/digest/{bob.id}/")
    assert world.http.post(on_bob, data={**fields, "value": "useful"}).status_code == 403
    stranger = {**fields, "paper": "2699.00001", "value": "useful"}
    assert world.http.post(action, data=stranger).status_code == 400
    assert world.http.post(action, data={**fields, "value": "maybe"}).status_code == 400
    assert world.http.post(action, content=b"\xff" * 100).status_code == 403
    assert rows(world) == []


def test_the_page_verdict_joins_the_slack_one_in_one_row(world: World) -> None:
    """A Slack button, then the page's other verdict: one row, the page's verdict."""
    row = digest(world)
    feedback.record_feedback(
        world.engine, row.subscriber_id, BEYOND_CAP, "useful", now=world.clock()
    )
    action, fields = form(world, row)
    world.http.post(action, data={**fields, "value": "not_useful"})
    assert rows(world) == [(row.subscriber_id, BEYOND_CAP, "not_useful", "web")]
    assert feedback.get_feedback(world.engine, row.subscriber_id) == {BEYOND_CAP: "not_useful"}
