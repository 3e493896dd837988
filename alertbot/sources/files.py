"""Sources on the local disk: one file, or every file in a folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alertbot.sources.base import Document, Fetched, SourceError, Validators


def _read(path: Path, max_bytes: int) -> Document:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SourceError(f"{path}: {size} bytes, more than the {max_bytes} allowed")
        return Document.of(str(path), path.read_bytes())
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror or exc}") from None


@dataclass
class FileSource:
    """One dump file, read whole at every fetch."""

    name: str
    location: str
    max_bytes: int
    skip_known_files: bool = False
    conditional: bool = False

    def fetch(self, validators: Validators | None = None) -> Fetched:
        """The file as one document."""
        path = Path(self.location).expanduser()
        if path.is_dir():
            raise SourceError(f"{path}: is a folder (configure it as a folder source)")
        return Fetched("ok", [_read(path, self.max_bytes)])


# Names that a copy or download in progress uses: such a file may be cut short, and a
# paper read from half a dump would be stored with half an abstract.
IN_PROGRESS_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".download", "~")


def _in_progress(path: Path) -> bool:
    return path.name.startswith(".") or path.name.endswith(IN_PROGRESS_SUFFIXES)


@dataclass
class FolderSource:
    """Every file directly in a folder, in name order, except hidden and temporary ones.

    Write a dump under a hidden or temporary name (``.day.txt``, ``day.txt.part``) and
    rename it when complete, so a fetch never reads half a file.

    The pipeline skips files whose content it has already ingested for this source,
    so dropping a new dump in the folder is enough for the next fetch to find it.
    """

    name: str
    location: str
    max_bytes: int
    skip_known_files: bool = True
    conditional: bool = False

    def fetch(self, validators: Validators | None = None) -> Fetched:
        """Every file in the folder as a document."""
        folder = Path(self.location).expanduser()
        if not folder.is_dir():
            raise SourceError(f"{folder}: no such folder")
        try:
            paths = sorted(p for p in folder.iterdir() if p.is_file() and not _in_progress(p))
        except OSError as exc:
            raise SourceError(f"{folder}: cannot list: {exc.strerror or exc}") from None
        return Fetched("ok", [_read(p, self.max_bytes) for p in paths])
