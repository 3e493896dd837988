"""The Source protocol and what a fetch returns."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal, Protocol


class SourceError(Exception):
    """A source could not be read; ``str()`` is one line naming the location."""


@dataclass(frozen=True)
class Validators:
    """HTTP cache validators of the last stored response (conditional GET)."""

    etag: str | None = None
    last_modified: str | None = None

    def __bool__(self) -> bool:
        return bool(self.etag or self.last_modified)


@dataclass(frozen=True)
class Document:
    """One listing as fetched: ``name`` (path or URL) labels it in errors."""

    name: str
    data: bytes
    content_hash: str = field(default="")

    @classmethod
    def of(cls, name: str, data: bytes) -> Document:
        return cls(name=name, data=data, content_hash=hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class Fetched:
    """What a source returned: documents, or ``not_modified`` (HTTP 304)."""

    status: Literal["ok", "not_modified"]
    documents: list[Document] = field(default_factory=list)
    validators: Validators = field(default_factory=Validators)


class Source(Protocol):
    """A place listings come from.

    ``skip_known_files``: documents whose content hash the store has already
    ingested for this source are skipped (a folder's old dumps).
    ``conditional``: the source understands HTTP validators.
    """

    name: str
    location: str
    skip_known_files: bool
    conditional: bool

    def fetch(self, validators: Validators | None = None) -> Fetched:
        """Read the location; raises :class:`SourceError`."""
        ...
