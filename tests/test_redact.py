"""One redaction rule for every URL alertbot shows: credentials hidden, the rest as written."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertbot.redact import MASK, redact_text, redact_url

M = MASK
URLS = [
    # userinfo: the password of user:password, a lone token whole
    ("http://user:PW@host/feed?token=T", f"http://user:{M}@host/feed?token={M}"),
    ("https://ghp_abc123@github.com/o/r.git", f"https://{M}@github.com/o/r.git"),
    ("https://user:@host/", f"https://user:{M}@host/"),
    ("https://u:p%40ss@host:8443/x", f"https://u:{M}@host:8443/x"),
    ("https://u:p?ss#w@host/x?a=1", f"https://u:{M}@host/x?a=1"),
    (
        "postgresql://alertbot:pw@db.example.org/alertbot",
        f"postgresql://alertbot:{M}@db.example.org/alertbot",
    ),
    # secret-looking parameters, any case or spelling, values masked, names kept
    ("https://h/x?api_key=K&q=graph", f"https://h/x?api_key={M}&q=graph"),
    ("https://h/x?apikey=K", f"https://h/x?apikey={M}"),
    ("https://h/x?API-KEY=K", f"https://h/x?API-KEY={M}"),
    ("https://h/x?key=K", f"https://h/x?key={M}"),
    (
        "https://h/x?access_token=A&refresh_token=R",
        f"https://h/x?access_token={M}&refresh_token={M}",
    ),
    ("https://h/x?secret=S&client_secret=C", f"https://h/x?secret={M}&client_secret={M}"),
    ("https://h/x?password=P&passwd=P&pwd=P", f"https://h/x?password={M}&passwd={M}&pwd={M}"),
    ("https://h/x?sig=S&signature=S", f"https://h/x?sig={M}&signature={M}"),
    (
        "https://b.s3.amazonaws.com/k?X-Amz-Credential=C&X-Amz-Signature=S&X-Amz-Expires=60",
        f"https://b.s3.amazonaws.com/k?X-Amz-Credential={M}&X-Amz-Signature={M}&X-Amz-Expires=60",
    ),
    ("https://h/x?private_token=T", f"https://h/x?private_token={M}"),
    ("https://h/x?api%5Fkey=K", f"https://h/x?api%5Fkey={M}"),
    ("https://h/cb#access_token=A&state=s", f"https://h/cb#access_token={M}&state=s"),
    # left alone: ordinary parameters, empty values, no query, paths, non-URLs
    (
        "http://export.arxiv.org/api/query?search_query=au:hinton&start=0&max_results=50",
        "http://export.arxiv.org/api/query?search_query=au:hinton&start=0&max_results=50",
    ),
    ("https://h/x?author=hinton&keywords=graph", "https://h/x?author=hinton&keywords=graph"),
    ("https://h/x?token=&token", "https://h/x?token=&token"),
    ("https://medium.com/@ada/notes", "https://medium.com/@ada/notes"),
    ("https://rss.arxiv.org/rss/cs.CL", "https://rss.arxiv.org/rss/cs.CL"),
    ("https://h/page#section-2", "https://h/page#section-2"),
    ("./dumps/", "./dumps/"),
    ("/var/lib/alertbot/a@b.txt", "/var/lib/alertbot/a@b.txt"),
    ("", ""),
    ("://nothing", "://nothing"),
]


@pytest.mark.parametrize(("url", "shown"), URLS, ids=[u or "empty" for u, _ in URLS])
def test_it_redacts_credentials_and_keeps_the_rest_as_written(url: str, shown: str) -> None:
    """Each URL is shown with its credentials masked and every other byte unchanged."""
    assert redact_url(url) == shown


def test_it_redacts_urls_and_bare_parameters_inside_text() -> None:
    """An error message or an access-log line loses its credentials, nothing else."""
    text = (
        "http://user:PW@127.0.0.1:9/feed?token=T: ConnectError: refused; "
        '"GET /unsubscribe?token=abc.def HTTP/1.1" 200 see https://h/x?q=1'
    )
    assert redact_text(text) == (
        f"http://user:{M}@127.0.0.1:9/feed?token={M}: ConnectError: refused; "
        f'"GET /unsubscribe?token={M} HTTP/1.1" 200 see https://h/x?q=1'
    )


@given(st.text())
def test_it_never_raises_and_is_idempotent(text: str) -> None:
    """Any text at all is redacted without an error, and redacting twice changes nothing."""
    once = redact_text(text)
    assert redact_text(once) == once
    assert redact_url(redact_url(text)) == redact_url(text)
