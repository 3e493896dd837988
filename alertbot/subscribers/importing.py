"""``alertbot subscribers import``: reading a TOML or JSON file of subscribers.

The file is ``[[subscriber]]`` tables (TOML) or a list of objects (JSON, bare or under
``"subscriber"``); each entry is a :class:`~alertbot.subscribers.spec.NewSubscriber`.
Every entry is checked before anything is written, and every problem is reported with
its entry number and name.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alertbot.subscribers.spec import InvalidSubscriber, NewSubscriber, QueryLimits, parse


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """One problem in an import file: which entry, which field, what."""

    entry: int  # 1-based
    name: str
    message: str

    def __str__(self) -> str:
        label = f"entry {self.entry}" + (f" ({self.name})" if self.name else "")
        return f"{label}: {self.message}"


def read_entries(path: Path) -> list[Any]:
    """The subscriber entries of a TOML or JSON file (``[[subscriber]]`` or a list).

    Raises ValueError with a one-line message when the file cannot be read as either.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    suffix = path.suffix.lower()
    parsed: Any
    # By suffix; otherwise JSON if it parses as JSON (TOML's "[[subscriber]]" also starts
    # with a bracket, so the first byte cannot decide), else TOML.
    if suffix == ".json" or (suffix != ".toml" and _is_json(text)):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON: {exc}") from None
    else:
        try:
            parsed = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML: {exc}") from None
    if isinstance(parsed, dict):
        unknown = set(parsed) - {"subscriber", "subscribers"}
        if unknown:
            raise ValueError(
                f"{path}: unknown top-level key(s) {', '.join(sorted(unknown))} "
                "(expected [[subscriber]] tables)"
            )
        parsed = parsed.get("subscriber", parsed.get("subscribers", []))
    if not isinstance(parsed, list):
        raise ValueError(f"{path}: expected a list of subscribers")
    return parsed


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def validate_entries(
    entries: Sequence[Any], limits: QueryLimits | None = None
) -> tuple[list[NewSubscriber], list[ImportProblem]]:
    """Every entry validated; names must be unique within the file."""
    specs: list[NewSubscriber] = []
    problems: list[ImportProblem] = []
    seen: dict[str, int] = {}
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            problems.append(ImportProblem(number, "", "must be a table / object"))
            continue
        raw_name = entry.get("name")
        name = raw_name.strip() if isinstance(raw_name, str) else ""
        try:
            spec = parse(entry, NewSubscriber, limits)
        except InvalidSubscriber as exc:
            problems.extend(ImportProblem(number, name, p) for p in exc.problems)
            continue
        if spec.name in seen:
            problems.append(
                ImportProblem(number, name, f"name: also used by entry {seen[spec.name]}")
            )
            continue
        seen[spec.name] = number
        specs.append(spec)
    return specs, problems
