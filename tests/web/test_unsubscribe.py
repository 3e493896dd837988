"""One-click unsubscribe and email confirmation links: GET never acts, POST acts, forgeries 400."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from alertbot.links import confirm_url, signer_for, unsubscribe_url
from alertbot.model import Endpoint, EndpointKind
from alertbot.store import endpoints as endpoint_store
from alertbot.store import subscribers as store
from alertbot.tokens import Signer
from tests.helpers.slack import PUBLIC_URL, World

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def email_endpoint(world: World, name: str = "ada", address: str = "ada@example.org") -> Endpoint:
    sub = store.create_subscriber(world.engine, name=name, now=world.clock())
    return endpoint_store.add_endpoint(
        world.engine, sub.id, EndpointKind.EMAIL, address, now=world.clock()
    )


def current(world: World, endpoint: Endpoint) -> Endpoint:
    found = endpoint_store.get_endpoint(world.engine, endpoint.id)
    assert found is not None
    return found


def test_it_builds_the_url_on_the_public_address() -> None:
    """unsubscribe_url is public_url + /unsubscribe?token=, the token naming both ids."""
    from tests.helpers.slack import make_settings

    settings = make_settings("data", "http://127.0.0.1:9/api/")
    url = unsubscribe_url(settings, 7, 11)
    assert url.startswith(f"{PUBLIC_URL}/unsubscribe?token=")
    claim = signer_for(settings).read_unsubscribe(url.split("token=", 1)[1])
    assert (claim.subscriber_id, claim.endpoint_id) == (7, 11)


def test_it_shows_a_confirmation_page_on_get_and_changes_nothing(world: World) -> None:
    """Mail scanners follow GET links: a GET only shows a page with a POST button."""
    endpoint = email_endpoint(world)
    page = world.http.get(unsubscribe_url(world.settings, endpoint.subscriber_id, endpoint.id))
    assert page.status_code == 200
    assert '<form method="post"' in page.text
    assert 'name="List-Unsubscribe" value="One-Click"' in page.text
    assert current(world, endpoint).active is True


@pytest.mark.parametrize("encoding", ["form", "multipart"])
def test_it_unsubscribes_on_a_one_click_post(any_world: World, encoding: str) -> None:
    """POST List-Unsubscribe=One-Click (either encoding): 200, no redirect, no cookie, off."""
    endpoint = email_endpoint(any_world)
    url = unsubscribe_url(any_world.settings, endpoint.subscriber_id, endpoint.id)
    if encoding == "form":
        response = any_world.http.post(url, data=ONE_CLICK, follow_redirects=False)
    else:
        response = any_world.http.post(
            url, files={"List-Unsubscribe": (None, "One-Click")}, follow_redirects=False
        )
    assert response.status_code == 200
    assert "location" not in response.headers
    assert "set-cookie" not in response.headers
    after = current(any_world, endpoint)
    assert (after.active, after.disabled_reason) == (False, "unsubscribed")


def test_it_answers_the_form_button_from_its_own_page(world: World) -> None:
    """The page's form posts back to the same token and unsubscribes (for humans)."""
    endpoint = email_endpoint(world)
    page = world.http.get(unsubscribe_url(world.settings, endpoint.subscriber_id, endpoint.id))
    action = page.text.split('action="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert world.http.post(action, data=ONE_CLICK).status_code == 200
    assert current(world, endpoint).active is False


def test_it_refuses_a_post_without_one_click(world: World) -> None:
    """A POST that does not say List-Unsubscribe=One-Click changes nothing."""
    endpoint = email_endpoint(world)
    url = unsubscribe_url(world.settings, endpoint.subscriber_id, endpoint.id)
    assert world.http.post(url, data={"other": "x"}).status_code == 400
    assert world.http.post(url, content=b"\xff\x00garbage").status_code == 400
    assert current(world, endpoint).active is True


def _altered(token: str) -> str:
    # One character of the signed payload changed (the first carries 6 whole bits, so the
    # decoded bytes always change; the last one of a base64 part may be padding bits only).
    return ("A" if token[0] != "A" else "B") + token[1:]


def test_it_refuses_forged_altered_and_mismatched_tokens(world: World) -> None:
    """Tokens signed with another key, altered, or naming someone else's endpoint: 400."""
    ada = email_endpoint(world)
    bob = email_endpoint(world, "bob", "bob@example.org")
    good = signer_for(world.settings).unsubscribe_token(ada.subscriber_id, ada.id)
    tokens = [
        Signer("some-other-secret-key-0123456789").unsubscribe_token(ada.subscriber_id, ada.id),
        _altered(good),
        signer_for(world.settings).unsubscribe_token(ada.subscriber_id, bob.id),
        signer_for(world.settings).confirm_token(ada.subscriber_id, ada.id, ada.address),
        "",
        "x" * 5000,
    ]
    for token in tokens:
        for method in ("GET", "POST"):
            response = world.http.request(
                method, "/unsubscribe", params={"token": token}, data=ONE_CLICK
            )
            assert response.status_code == 400, (method, token[:40])
    assert current(world, ada).active is True
    assert current(world, bob).active is True


def unconfirmed(world: World) -> Endpoint:
    sub = store.create_subscriber(world.engine, name="ada", now=world.clock())
    endpoint = endpoint_store.add_endpoint(
        world.engine,
        sub.id,
        EndpointKind.EMAIL,
        "ada@example.org",
        now=world.clock(),
        confirmed=False,
    )
    endpoint_store.set_endpoint_active(
        world.engine, endpoint.id, False, reason="awaiting confirmation"
    )
    return endpoint


def test_it_confirms_an_address_only_on_post(world: World) -> None:
    """GET /confirm shows a button; the POST confirms and switches the endpoint on."""
    endpoint = unconfirmed(world)
    url = confirm_url(world.settings, endpoint.subscriber_id, endpoint.id, endpoint.address)
    assert world.http.get(url).status_code == 200
    assert current(world, endpoint).confirmed is False
    response = world.http.post(url, follow_redirects=False)
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    after = current(world, endpoint)
    assert (after.confirmed, after.active) == (True, True)


def test_it_refuses_bad_or_expired_confirmation_links(world: World) -> None:
    """Altered, wrong-address, unsubscribe-kind and 4-day-old confirm tokens: 400, unchanged."""
    endpoint = unconfirmed(world)
    signer = signer_for(world.settings)
    good = signer.confirm_token(endpoint.subscriber_id, endpoint.id, endpoint.address)
    with freeze_time(datetime.now(UTC) - timedelta(days=4)):
        old = signer.confirm_token(endpoint.subscriber_id, endpoint.id, endpoint.address)
    tokens = [
        _altered(good),
        signer.confirm_token(endpoint.subscriber_id, endpoint.id, "eve@example.org"),
        signer.confirm_token(endpoint.subscriber_id + 1, endpoint.id, endpoint.address),
        signer.unsubscribe_token(endpoint.subscriber_id, endpoint.id),
        old,
    ]
    for token in tokens:
        assert world.http.post("/confirm", params={"token": token}).status_code == 400
    after = current(world, endpoint)
    assert (after.confirmed, after.active) == (False, False)
