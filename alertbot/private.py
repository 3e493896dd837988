"""Folders and files only alertbot's user can read, whatever the umask.

The store holds subscribers' addresses, ``data_dir`` the key that signs every
unsubscribe link, the file channel's outbox whole digests with those links. Under
systemd the unit's ``UMask=0077`` keeps them private; run by hand, the usual umask 022
made them 0644/0755, readable by every local user.

Everything is created with the private mode from the start (``mkdir``/``open`` with
0700/0600, which a umask can only narrow), then set to exactly that mode (a umask such
as 0277 would otherwise leave the owner without write). Only what is created here is
changed: a folder the operator made, shared on purpose, keeps its mode.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def make_private_dir(path: Path) -> None:
    """Create ``path`` and its missing parents as 0700 folders; existing ones are left."""
    missing: list[Path] = []
    at = path
    while not at.exists() and at != at.parent:
        missing.append(at)
        at = at.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, DIR_MODE)
        except FileExistsError:  # another process made it meanwhile: theirs to set
            continue
        os.chmod(folder, DIR_MODE)
    if not path.is_dir():
        raise NotADirectoryError(f"{path} is not a folder")


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (then it is left alone)."""
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
        finally:
            os.close(fd)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (created or truncated), which ends up mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        os.fchmod(fd, FILE_MODE)  # an existing file keeps its old mode through O_CREAT
        out.write(data)
