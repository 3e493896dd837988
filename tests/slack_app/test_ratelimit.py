"""The per-user command limit: a sliding one-minute window on an injected clock."""

from __future__ import annotations

from alertbot.slack_app.ratelimit import RateLimiter
from tests.helpers.slack import Clock


def test_it_allows_n_per_minute_per_key_and_slides() -> None:
    """Events at 0, 10 and 20 s fill the window; each frees its slot 60 s after it came."""
    clock = Clock()
    limiter = RateLimiter(3, now=clock)
    for _ in range(3):
        assert limiter.allow("a") is True
        clock.advance(seconds=10)
    assert limiter.allow("a") is False  # t = 30
    assert limiter.allow("b") is True
    assert limiter.retry_after("a") == 30.0
    clock.advance(seconds=29)  # t = 59
    assert limiter.allow("a") is False
    clock.advance(seconds=1)  # t = 60: the event at 0 left the window
    assert limiter.allow("a") is True
    assert limiter.allow("a") is False


def test_it_does_not_count_refused_events() -> None:
    """Hammering while limited does not push the window further out."""
    clock = Clock()
    limiter = RateLimiter(1, now=clock)
    assert limiter.allow("a") is True
    for _ in range(10):
        clock.advance(seconds=5)
        assert limiter.allow("a") is False
    clock.advance(seconds=10)
    assert limiter.allow("a") is True
