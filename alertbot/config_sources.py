"""Where each setting came from: a line of the TOML file, a variable, a credential.

``load_settings`` reads the three places itself (rather than letting pydantic-settings
merge them unseen) so that every problem can name its origin: ``alertbot.toml:12``,
``ALERTBOT_SMTP__PORT``, or the credentials file. It also keeps what was read, so
that after one round of errors the rest of the settings can still be checked
(:func:`without`), and ``config check`` lists every problem in one run.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from alertbot import problems as wording

Loc = tuple[str | int, ...]
Renumbering = dict[Loc, list[int]]  # list path -> old index of each remaining entry

# tomllib, tomli and tomlkit keep no source positions, so this small scanner finds the
# line of each key, for messages only: where it cannot tell (a key inside an inline
# table), the message names the nearest enclosing key's line, or the file alone.
_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"^\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*="
)


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(
        p.strip().strip("\"'")
        for p in re.split(r"\.(?=(?:[^\"']*[\"'][^\"']*[\"'])*[^\"']*$)", dotted)
    )


def toml_lines(text: str) -> dict[Loc, int]:
    """The 1-based line of every table header and key in ``text``, by its path.

    ``[[sources]]`` tables are numbered like the list they make: ``("sources", 0, "name")``.
    """
    lines: dict[Loc, int] = {}
    table: Loc = ()
    arrays: dict[tuple[str, ...], int] = {}
    in_string = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.count('"""') % 2 or line.count("'''") % 2:
            in_string = not in_string
            if not in_string:
                continue
        if in_string and not _KEY.match(line):
            continue
        header = _HEADER.match(line)
        if header and not in_string:
            names = _parts(header[2])
            if header[1] == "[[":
                index = arrays.get(names, -1) + 1
                arrays[names] = index
                table = (*names, index)
            else:
                table = names
            lines.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            lines.setdefault((*table, *_parts(key[1])), number)
    return lines


_MISSING = object()


def _get(data: Any, path: Loc, default: Any = None) -> Any:
    """The value at ``path`` in nested dicts and lists, or ``default``."""
    for part in path:
        in_dict = isinstance(data, dict) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if not (in_dict or in_list):
            return default
        data = data[part]
    return data


def _walk(data: Any, loc: Loc) -> bool:
    """Whether ``data`` holds a value at ``loc``."""
    return _get(data, loc, _MISSING) is not _MISSING


def env_name(prefix: str, loc: Iterable[str | int]) -> str:
    return prefix + "__".join(str(p) for p in loc).upper()


@dataclass
class Origins:
    """What each place said, to tell where a setting's value came from."""

    prefix: str
    toml_file: Path | None = None
    toml: dict[str, Any] = field(default_factory=dict)
    lines: dict[Loc, int] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    credentials_dir: Path | None = None
    credentials: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)
    renumbering: Renumbering = field(default_factory=dict)

    def renumbered(self, loc: Loc) -> Loc:
        """``loc`` in the numbering of what was read (see :func:`without`)."""
        for path, old in self.renumbering.items():
            n = len(path)
            index = loc[n] if len(loc) > n else None
            if loc[:n] == path and isinstance(index, int) and index < len(old):
                return (*path, old[index], *loc[n + 1 :])
        return loc

    def _variable(self, loc: Loc) -> str | None:
        names = {name.upper() for name in os.environ}
        for end in range(len(loc), 0, -1):
            if all(isinstance(p, str) for p in loc[:end]):
                name = env_name(self.prefix, loc[:end])
                if name in names:
                    return name
        return None

    def of(self, loc: Loc) -> str | None:
        """``file:line``, ``$VARIABLE`` or a credential file: where ``loc``'s value came
        from, in the order they win; None for a default."""
        loc = self.renumbered(loc)
        if _walk(self.overrides, loc):
            return "command line"
        if _walk(self.env, loc):
            name = self._variable(loc)
            return f"environment {name}" if name else "environment"
        if _walk(self.credentials, loc) and self.credentials_dir is not None:
            name = next(
                (
                    env_name(self.prefix, loc[:end])
                    for end in range(len(loc), 0, -1)
                    if (self.credentials_dir / env_name(self.prefix, loc[:end])).is_file()
                ),
                env_name(self.prefix, loc),
            )
            return f"credential {self.credentials_dir / name}"
        if _walk(self.toml, loc) and self.toml_file is not None:
            for end in range(len(loc), 0, -1):
                line = self.lines.get(loc[:end])
                if line is not None:
                    return f"{self.toml_file}:{line}"
            return str(self.toml_file)
        return None


def merge(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """The layers merged, later ones winning; tables merge key by key, lists replace."""
    result: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if isinstance(value, Mapping) and isinstance(result.get(key), dict):
                result[key] = merge(result[key], value)
            else:
                result[key] = value
    return result


def without(data: dict[str, Any], locs: Iterable[Loc]) -> tuple[dict[str, Any], Renumbering]:
    """``data`` less the values at ``locs``, so that their defaults apply.

    A bad field of a list entry (a ``[[sources]]`` table) drops the whole entry: a
    source is all or nothing. The renumbering maps each list's new positions back to
    the old, so that a later problem still names the right table.
    """
    result = copy.deepcopy(data)
    entries: dict[Loc, set[int]] = {}
    for loc in locs:
        cut = next((i for i, part in enumerate(loc) if isinstance(part, int)), None)
        if cut is not None:
            entries.setdefault(loc[:cut], set()).add(int(loc[cut]))
            continue
        parent = _get(result, loc[:-1])
        if loc and isinstance(parent, dict):
            parent.pop(loc[-1], None)
    renumbering: Renumbering = {}
    for path, indexes in entries.items():
        parent = _get(result, path[:-1])
        items = parent.get(path[-1]) if isinstance(parent, dict) and path else None
        if isinstance(items, list):
            kept = [i for i in range(len(items)) if i not in indexes]
            parent[path[-1]] = [items[i] for i in kept]
            renumbering[path] = kept
    return result, renumbering


class CredentialsSource(PydanticBaseSettingsSource):
    """Secrets from systemd's ``LoadCredential=`` directory.

    A credential file is named like the environment variable it stands for, e.g.
    ``ALERTBOT_SLACK__BOT_TOKEN`` or ``ALERTBOT_SMTP__PASSWORD`` (case-insensitive).
    """

    def __init__(self, settings_cls: type[BaseSettings], directory: Path, *, prefix: str) -> None:
        super().__init__(settings_cls)
        self.directory = directory
        self.prefix = prefix

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        # Unused: __call__ builds the whole nested mapping at once.
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if not self.directory.is_dir():
            return values
        for path in sorted(self.directory.iterdir()):
            name = path.name.lower()
            if not name.startswith(self.prefix.lower()) or not path.is_file():
                continue
            keys = name[len(self.prefix) :].split("__")
            target = values
            for key in keys[:-1]:
                target = target.setdefault(key, {})
            target[keys[-1]] = path.read_text(encoding="utf-8").strip()
        return values


# A type or range error prints the value it got, except for these.
_SECRET_KEYS = {"password", "bot_token", "signing_secret", "app_token", "secret_key"}


def _model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model under ``root`` that holds the last key of ``loc``."""
    model = root
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part)
        annotation = info.annotation if info is not None else None
        inner = getattr(annotation, "__args__", None) or (annotation,)
        found = next((a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if found is None:
            return None
        model = found
    return model


def describe(root: type[BaseModel], error: Any) -> str:
    """One validation error of ``root`` in words: a misspelt key gets a suggestion, a
    wrong value is quoted (never a secret's)."""
    loc: Loc = tuple(error["loc"])
    if error["type"] == "extra_forbidden" and loc:
        model = _model_at(root, loc)
        known = model.model_fields if model is not None else ()
        return wording.unknown_key(str(loc[-1]), known)
    if error["type"] == "missing":
        return "required"
    secret = bool(loc) and (str(loc[-1]) in _SECRET_KEYS or loc[0] == "database_url")
    return wording.message(error, show_input=not secret)
