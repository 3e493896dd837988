"""The digest's HTML frame, CSS-inlined once per shape rather than once per reader.

The frame (``email/body.html``: title, lead line, suggestions, footer) differs between
readers only in strings: the subject, the address, the links. Inlining it (parsing the
document, matching every CSS rule, serialising it back) was about a tenth of a worker's
CPU per digest. So the frame is rendered and inlined once per *shape* (which parts are
present: the papers, the "and N more" line, the web links, the learned note, how many
suggestions, and the paper count the lead line spells out), with a random stand-in for
each string, and each digest's strings replace the stand-ins, escaped as the inliner's
serialiser escapes them: in text ``&``, ``<``, ``>`` and no-break space; in a
(double-quoted) attribute ``&``, ``"`` and no-break space. Characters the HTML parser
itself would change (CR, NUL) or could not encode (lone surrogates), and a string that
is already markup (``Markup``, inserted unescaped), take the per-digest path, as does a
frame template of the reader's own (``templates_dir``), which may use a string in ways
a stand-in cannot follow. ``tests/render/test_email_frame.py`` holds the result byte
for byte to inlining each digest's frame on its own.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
from markupsafe import Markup

from alertbot.render.parts import HTML_TAG, DigestLinks

# The frame's strings, each replaced by a stand-in in the shared skeleton.
SLOTS = ("subject", "day", "recipient", "unsubscribe_url", "public_url", "more_hint")
CACHE_SIZE = 1024  # skeletons kept (shapes: at most a few hundred in a day's digests)
# What the HTML parser rewrites (CR to LF, NUL dropped or replaced) or cannot encode.
_UNSAFE = re.compile("[\r\x00\ud800-\udfff]")

Inline = Callable[[str], str]


def escape_text(value: str) -> str:
    """``value`` as the inliner's serialiser writes text."""
    return (
        value.replace("&", "&amp;")
        .replace("\u00a0", "&nbsp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )


def escape_attribute(value: str) -> str:
    """``value`` as the inliner's serialiser writes a double-quoted attribute value."""
    return value.replace("&", "&amp;").replace("\u00a0", "&nbsp;").replace('"', "&quot;")


@dataclass(frozen=True, slots=True)
class _Piece:
    """Literal text of the inlined skeleton, then the slot that follows it (if any)."""

    text: str
    slot: str | None = None
    attribute: bool = False


class FrameCache:
    """Inlined frames by shape; :meth:`render` fills one in with a digest's strings."""

    def __init__(
        self, template: jinja2.Template, inline: Inline, papers_mark: str, *, shared: bool
    ) -> None:
        """``shared``: whether the skeletons may be used (the bundled frame template);
        if not, every frame is inlined on its own."""
        self._template = template
        self._shared = shared
        self._inline = inline
        self._papers_mark = papers_mark
        self._nonce = secrets.token_hex(8)
        self._skeletons: dict[tuple[Any, ...], tuple[_Piece, ...]] = {}

    def render(self, base: Mapping[str, Any], *, papers: bool, more: int, more_hint: str) -> str:
        """The inlined frame, with ``papers_mark`` where the papers go (if ``papers``)."""
        links: DigestLinks | None = base["links"]
        suggestions: list[dict[str, str]] = base["suggestions"]
        values = {name: base[name] for name in SLOTS if name != "more_hint"}
        values["more_hint"] = more_hint
        if links is not None:
            values["links_page"], values["links_archive"] = links.page, links.archive
        for i, s in enumerate(suggestions):
            values[f"s{i}_text"], values[f"s{i}_url"] = s["text"], s["url"]
        if not self._shared or any(
            type(v) is not str or _UNSAFE.search(v) for v in values.values()
        ):
            return self._inline(self._frame(base, papers=papers, more=more, more_hint=more_hint))
        key = (links is None, papers, more, base["total"], base["learned_note"], len(suggestions))
        pieces = self._skeletons.get(key)
        if pieces is None:
            if len(self._skeletons) >= CACHE_SIZE:
                self._skeletons.clear()
            pieces = self._skeletons[key] = self._skeleton(base, values, papers, more)
        out: list[str] = []
        for piece in pieces:
            out.append(piece.text)
            if piece.slot is not None:
                value = values[piece.slot]
                out.append(escape_attribute(value) if piece.attribute else escape_text(value))
        return "".join(out)

    def _frame(self, base: Mapping[str, Any], *, papers: bool, more: int, more_hint: str) -> str:
        return self._template.render(
            base,
            papers=[Markup(self._papers_mark)] if papers else [],  # noqa: S704 - a constant
            more=more,
            more_hint=more_hint,
        )

    def _stand_in(self, slot: str) -> str:
        # Letters and digits only: nothing the parser or the serialiser changes; random,
        # so no reader's text can look like one.
        return f"alertbotframe{self._nonce}{slot.replace('_', '')}"

    def _skeleton(
        self, base: Mapping[str, Any], values: Mapping[str, str], papers: bool, more: int
    ) -> tuple[_Piece, ...]:
        stand = self._stand_in
        # Only what the shape and the stand-ins say: a frame that used anything else of
        # the digest would fail here (StrictUndefined) rather than show one reader's data
        # to the others.
        context: dict[str, Any] = {name: stand(name) for name in SLOTS}
        context.update(total=base["total"], learned_note=base["learned_note"], links=None)
        if base["links"] is not None:
            context["links"] = DigestLinks(stand("links_page"), stand("links_archive"))
        context["suggestions"] = [
            {"text": stand(f"s{i}_text"), "url": stand(f"s{i}_url")}
            for i in range(len(base["suggestions"]))
        ]
        frame = self._frame(context, papers=papers, more=more, more_hint=stand("more_hint"))
        inlined = self._inline(frame)
        by_stand_in = {stand(name): name for name in values}
        longest_first = sorted(by_stand_in, key=len, reverse=True)
        found = re.compile("|".join(re.escape(s) for s in longest_first))
        tags = [m.span() for m in HTML_TAG.finditer(inlined)]
        pieces: list[_Piece] = []
        at = 0
        for m in found.finditer(inlined):
            inside = any(start < m.start() < end for start, end in tags)
            pieces.append(_Piece(inlined[at : m.start()], by_stand_in[m.group()], inside))
            at = m.end()
        pieces.append(_Piece(inlined[at:]))
        return tuple(pieces)
