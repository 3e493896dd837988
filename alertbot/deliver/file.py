"""The file channel: each digest written as ``.eml``, ``.html`` and ``.slack.json``.

No credentials, no network: what ``alertbot demo`` uses, and a way to look at real
digests before pointing alertbot at a mail relay. The ``.eml`` is built by the same
code as the SMTP channel's messages (:func:`alertbot.deliver.mime.build_message`).

The folder is the endpoint's address; a relative address is taken relative to
``delivery.outbox_dir``. Folders are created 0700 and files 0600 (:mod:`alertbot.private`).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import ClassVar

from alertbot.deliver.base import DeliveryError, HandOver, Rendered
from alertbot.deliver.mime import build_message
from alertbot.model import Digest, EndpointKind
from alertbot.private import make_private_dir, write_private

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe version of ``text`` (never empty)."""
    return _UNSAFE.sub("-", text).strip("-.")[:limit] or "x"


def preview_address(digest: Digest) -> str:
    """The ``To:`` of a digest written to a file: the subscriber's email address if they
    have one, else a made-up one under ``.invalid`` (RFC 2606), never the folder path."""
    for endpoint in digest.subscriber.endpoints:
        if endpoint.kind == EndpointKind.EMAIL:
            return endpoint.address
    return f"{slug(digest.subscriber.name).lower()}@example.invalid"


class FileChannel:
    """Writes each digest into a folder as three files."""

    kind: ClassVar[EndpointKind] = EndpointKind.FILE
    renders: ClassVar[frozenset[str]] = frozenset({"email", "slack"})

    def __init__(self, base_dir: Path, *, from_address: str) -> None:
        self.base_dir = base_dir
        self.from_address = from_address
        self.written: list[Path] = []

    def folder(self, address: str) -> Path:
        path = Path(address).expanduser() if address else self.base_dir
        return path if path.is_absolute() else self.base_dir / path

    def paths(self, digest: Digest, outbox_id: int) -> dict[str, Path]:
        """Where this digest's files go: ``<date>-<subscriber>-o<outbox id>.<ext>``."""
        stem = f"{digest.digest_date.isoformat()}-{slug(digest.subscriber.name)}-o{outbox_id}"
        folder = self.folder(digest.endpoint.address)
        return {ext: folder / f"{stem}.{ext}" for ext in ("eml", "html", "slack.json")}

    @property
    def relay(self) -> None:
        """No server: a full disk is this folder's problem, never a relay to back off."""
        return None

    def send(
        self, digest: Digest, rendered: Rendered, *, outbox_id: int, hand_over: HandOver
    ) -> str | None:
        """Write the three files; returns the email's Message-ID.

        ``hand_over`` is not called: the files are named by outbox id and replaced
        whole, so writing them again after a crash leaves one copy, never two.
        """
        if rendered.email is None or rendered.slack is None:
            raise ValueError("the file channel needs the email and Slack renderings")
        msg = build_message(
            rendered,
            from_address=self.from_address,
            outbox_id=outbox_id,
            to_address=preview_address(digest),
        )
        slack = {"text": rendered.slack.text, "blocks": rendered.slack.blocks}
        paths = self.paths(digest, outbox_id)
        try:
            make_private_dir(paths["eml"].parent)
            _write(paths["eml"], msg.as_bytes())
            _write(paths["html"], rendered.email.html.encode("utf-8"))
            _write(paths["slack.json"], json.dumps(slack, indent=2, ensure_ascii=False).encode())
        except OSError as exc:
            raise DeliveryError(f"cannot write {paths['eml'].parent}: {exc}") from exc
        self.written.extend(paths.values())
        return str(msg["Message-ID"])

    def close(self) -> None:
        """Nothing to release."""


def _write(path: Path, data: bytes) -> None:
    # Write then rename, so a reader (or a crash) never sees half a file; private, since
    # a digest carries its reader's signed unsubscribe link.
    tmp = path.with_name(f".{path.name}.tmp")
    write_private(tmp, data)
    os.replace(tmp, path)
