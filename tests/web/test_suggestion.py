"""Accepting a suggestion from email: GET changes nothing (mail scanners follow links),
POST adds it once as an ordinary interest or exclusion, and a bad token changes nothing."""

from __future__ import annotations

from alertbot.links import signer_for, suggestion_url
from alertbot.match import validate_profile
from alertbot.store import subscribers as store
from alertbot.tokens import Signer
from tests.helpers.slack import PUBLIC_URL, World


def reader(world: World, name: str = "ada") -> int:
    return store.create_subscriber(world.engine, name=name, now=world.clock()).id


def profile(world: World, sid: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    sub = store.get_subscriber(world.engine, sid)
    assert sub is not None
    return sub.profile.interests, sub.profile.exclusions


def test_the_link_is_on_the_public_address_bound_to_reader_kind_and_query(world: World) -> None:
    """suggestion_url is public_url + /suggestion?token=, the token naming all three."""
    url = suggestion_url(world.settings, 7, "exclusion", "survey")
    assert url.startswith(f"{PUBLIC_URL}/suggestion?token=")
    claim = signer_for(world.settings).read_suggestion(url.split("token=", 1)[1])
    assert (claim.subscriber_id, claim.kind, claim.query) == (7, "exclusion", "survey")


def test_a_get_shows_one_button_and_changes_nothing(world: World) -> None:
    """What a mail scanner does (GET, twice) leaves the profile as it was."""
    sid = reader(world)
    for _ in range(2):
        page = world.http.get(suggestion_url(world.settings, sid, "interest", '"spec decoding"'))
        assert page.status_code == 200
        assert '<form method="post"' in page.text
        assert "spec decoding" in page.text
    assert profile(world, sid) == ((), ())


def test_the_button_adds_an_interest_that_parses_once(any_world: World) -> None:
    """POST from the page's form adds the interest; pressing again adds nothing more."""
    sid = reader(any_world)
    page = any_world.http.get(suggestion_url(any_world.settings, sid, "interest", '"spec dec"'))
    action = page.text.split('action="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    for _ in range(2):
        done = any_world.http.post(action)
        assert done.status_code == 200
        assert "Added interest" in done.text
    interests, exclusions = profile(any_world, sid)
    assert (interests, exclusions) == (('"spec dec"',), ())
    sub = store.get_subscriber(any_world.engine, sid)
    assert sub is not None
    validate_profile(sub.profile)


def test_an_exclusion_lands_among_the_exclusions(world: World) -> None:
    """An exclude suggestion accepted is an exclusion, not an interest."""
    sid = reader(world)
    world.http.post(suggestion_url(world.settings, sid, "exclusion", "survey"))
    assert profile(world, sid) == ((), ("survey",))


def test_a_query_the_parser_refuses_is_refused_with_the_reason(world: World) -> None:
    """A signed but unparseable query (the limits changed since) is a 400 naming the
    parser's complaint, and nothing is added."""
    sid = reader(world)
    page = world.http.post(suggestion_url(world.settings, sid, "interest", '"unclosed'))
    assert page.status_code == 400
    assert "unclosed quote" in page.text
    assert profile(world, sid) == ((), ())


def test_it_refuses_forged_altered_and_foreign_tokens(world: World) -> None:
    """Another key's token, a cut token, a feedback token and a deleted reader: 400s."""
    sid = reader(world)
    other = Signer("another-secret-key-0123456789").suggestion_token(sid, "interest", "x")
    good = suggestion_url(world.settings, sid, "interest", "x").split("token=", 1)[1]
    feedback = signer_for(world.settings).feedback_token(sid, "2603.00001", "useful")
    gone = reader(world, "gone")
    gone_link = suggestion_url(world.settings, gone, "interest", "x")
    store.delete_subscriber(world.engine, gone)
    for url in (
        f"/suggestion?token={other}",
        f"/suggestion?token={good[:-3]}",
        f"/suggestion?token={feedback}",
        "/suggestion",
        gone_link,
    ):
        assert world.http.get(url).status_code == 400, url
        assert world.http.post(url).status_code == 400, url
    assert profile(world, sid) == ((), ())


def test_the_service_serves_the_suggestion_page(world: World) -> None:
    """alertbot run's routes include /suggestion."""
    from alertbot.service import extra_routes

    paths = {
        getattr(r, "path", None)
        for r in extra_routes(world.engine, world.settings, now=world.clock)
    }
    assert "/suggestion" in paths
