"""Who may read whose digests: the one check the digest page, its feedback and the
archive make ("this request may read subscriber X's digests").

A request is a reader's by one of:

* its signed link (:mod:`alertbot.tokens`): a digest's own link opens that digest only;
  the archive link (in every digest's footer) opens the reader's archive;
* the signed-in session, when the app has one: ``session`` is a callable that names the
  subscriber a request is signed in as (or None), so the account pages' session plugs in
  here without this module knowing how it is kept.

A link bound to another reader, another digest or another purpose, a forged or altered
one, or a deleted reader's, opens nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request

from alertbot.tokens import BadToken, Signer
from alertbot.web.pages import MAX_TOKEN_CHARS

# The subscriber id a request is signed in as, or None (the session of the account pages).
SessionReader = Callable[[Request], int | None]


def no_session(request: Request) -> int | None:
    """The app without sign-in: links only."""
    return None


class DigestAccess:
    """Decides which reader a request acts for, from its link or its session."""

    def __init__(self, signer: Signer, session: SessionReader = no_session) -> None:
        self.signer = signer
        self.session = session

    @staticmethod
    def token(request: Request) -> str:
        """The request's ``token`` parameter ("" if absent or absurdly long)."""
        token = request.query_params.get("token", "")
        return token if len(token) <= MAX_TOKEN_CHARS else ""

    def may_read(self, request: Request, subscriber_id: int, outbox_id: int) -> bool:
        """The request may read digest ``outbox_id``, which is ``subscriber_id``'s."""
        if self.session(request) == subscriber_id:
            return True
        try:
            claim = self.signer.read_digest(self.token(request))
        except BadToken:
            return False
        return (claim.subscriber_id, claim.outbox_id) == (subscriber_id, outbox_id)

    def link_reader(self, request: Request, outbox_id: int) -> int | None:
        """The reader whose signed digest link for ``outbox_id`` the request carries, or
        None (this names who the link was made for; it is no leave to read the row)."""
        try:
            claim = self.signer.read_digest(self.token(request))
        except BadToken:
            return None
        return claim.subscriber_id if claim.outbox_id == outbox_id else None

    def archive_reader(self, request: Request) -> int | None:
        """Whose archive the request may read: its session's reader, else its link's."""
        signed_in = self.session(request)
        if signed_in is not None:
            return signed_in
        try:
            return self.signer.read_archive(self.token(request))
        except BadToken:
            return None
