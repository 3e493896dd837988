"""What the subscriber service refuses, each a :class:`Refused` whose message can be
shown to the person as is (the CLI prints it, /subscribe and the web pages word their
own reply from the attributes)."""

from __future__ import annotations

from alertbot.match import QueryError


class Refused(ValueError):
    """A change the service will not make; the message says why, fit to show as is."""


class NameTaken(Refused):
    pass


class SlackUserTaken(Refused):
    pass


class AddressTaken(Refused):
    """A web sign-up for an address a subscriber has already: ``owner`` is that
    subscriber's ``(subscriber id, endpoint id)``, for a sign-in link instead."""

    def __init__(self, message: str, owner: tuple[int, int]) -> None:
        super().__init__(message)
        self.owner = owner


class TooMany(Refused):
    """A self-service cap (``[subscribe]``) is reached."""


class AlreadyThere(Refused):
    """The interest or exclusion is in the profile already, at ``position`` (1-based)."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


class QueryRefused(Refused):
    """A query the parser refuses; ``error.column`` says where (1-based), when known."""

    def __init__(self, kind: str, query: str, error: QueryError) -> None:
        super().__init__(f"{kind} {query!r}: {error}")
        self.kind = kind
        self.query = query
        self.error = error


class NoSuchItem(Refused):
    """No interest, exclusion or channel with that number."""
