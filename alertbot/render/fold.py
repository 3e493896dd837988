"""Long lines of a digest's HTML broken at spaces, so the part can go ``8bit``.

RFC 5322 allows 998 octets per line; a part with a longer line must be encoded, and
the email's HTML part then went base64 (``alertbot/deliver/mime.py``): a third larger
on the wire and unreadable in a raw message. Abstracts are one ``<p>`` each, and once
the CSS is inlined every ``<mark>`` carries its style attribute, so about half of the
digests had an abstract line past 998 octets.

In HTML text a line break is white space like a space, so replacing a space between
words with a newline renders the same. Only spaces in text are replaced, never inside
a tag (an attribute value keeps its spaces), and only on lines longer than ``width``.
Nothing inside ``<style>``, ``<script>``, ``<pre>`` or ``<textarea>`` is touched (a CSS
string such as ``"Segoe UI"`` must keep its space, and preformatted text shows its
newlines); the email templates set no ``white-space`` rule elsewhere. A line with no
space to break at stays as it is, and the MIME layer still encodes it.

Run once per cached block (a paper, the frame's shape), never per reader.
"""

from __future__ import annotations

import re

from alertbot.render.parts import HTML_TAG

# Room under 998 for what may follow the last space: a tag with its inlined style or a
# link (the feedback URLs replace shorter stand-ins after folding).
FOLD_OCTETS = 760
_TAGS = re.compile(f"({HTML_TAG.pattern})")  # split keeps the tags
# Elements whose text is not HTML text: their spaces are never replaced.
_RAW = re.compile(r"<(/?)(style|script|pre|textarea)\b", re.IGNORECASE)


def fold_html(html: str, width: int = FOLD_OCTETS) -> str:
    """``html`` with every line longer than ``width`` octets broken at spaces in text.

    Greedy: once a line passes ``width``, its last space in text becomes the break, so a
    line is longer than ``width`` only where no space came after the line's start.
    """
    # A character is at most 4 octets in UTF-8: most pages need no encoding to tell.
    if all(len(line) * 4 <= width or len(line.encode()) <= width for line in html.split("\n")):
        return html
    folding = _Folding(width)
    raw = False  # inside <style>, <script>, <pre> or <textarea>
    for i, chunk in enumerate(_TAGS.split(html)):
        if i % 2 or raw:  # a whole tag, or raw text: never broken inside
            if i % 2 and (found := _RAW.match(chunk)):
                raw = not found.group(1)
            folding.add(chunk)
            continue
        for k, text in enumerate(chunk.split("\n")):
            if k:
                folding.add("\n")
            for j, word in enumerate(text.split(" ")):
                if j:
                    folding.space()
                folding.add(word)
    return "".join(folding.pieces)


class _Folding:
    def __init__(self, width: int) -> None:
        self.width = width
        self.pieces: list[str] = []
        self.used = 0  # octets on the output line so far
        self.last_space: int | None = None  # where in pieces the line may break
        self.after_space = 0  # octets on the line after that space

    def space(self) -> None:
        self.pieces.append(" ")
        self.last_space = len(self.pieces) - 1
        self.after_space = 0
        self.used += 1

    def add(self, piece: str) -> None:
        if not piece:
            return
        self.pieces.append(piece)
        _, newline, tail = piece.rpartition("\n")
        size = len(tail.encode())
        if newline:
            self.used, self.after_space, self.last_space = size, size, None
        else:
            self.used += size
            self.after_space += size
        if self.used > self.width and self.last_space is not None:
            self.pieces[self.last_space] = "\n"
            self.used, self.last_space = self.after_space, None
