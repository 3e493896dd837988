"""The installation's secret key, which every signed link and cookie is signed with
(:mod:`alertbot.tokens`): the configured one, else one generated once and kept private
in the data folder."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

from alertbot.private import make_private_dir


def load_or_create_secret_key(configured: str | None, data_dir: Path) -> str:
    """The configured key, else one generated once and kept (mode 0600) in ``data_dir``
    (created 0700 if missing).

    The new key is written to a private temporary file and linked into place, so a crash
    never leaves an empty key file and two processes starting at once agree on one key
    (the second's link fails and it reads the first's).
    """
    if configured:
        return configured
    path = data_dir / "secret_key"
    if not path.is_file():
        make_private_dir(data_dir)
        fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".secret_key.")  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(secrets.token_urlsafe(48))
                out.flush()
                os.fsync(out.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < 16:
        raise ValueError(f"{path} holds no usable key; delete it to generate a new one")
    return key
