"""What real feeds do that broke the feedparser reading (issue 9, points 1-6, 9, 10).

Each test reproduces one finding; the feed excerpts quote the issue's real examples
inside the real RSS capture's own envelope.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alertbot.parse import ParseError, parse_bytes
from tests.helpers import FIXTURES, REPO

REAL = FIXTURES / "real"
SAMPLES = REPO / "alertbot" / "samples"
FETCHED = datetime(2026, 10, 1, tzinfo=UTC)
RSS_HEAD = (
    b"<?xml version='1.0' encoding='UTF-8'?>\n"
    b'<rss xmlns:arxiv="http://arxiv.org/schemas/atom" '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0">\n<channel>\n'
    b"<title>math updates on arXiv.org</title>\n"
)
RSS_TAIL = b"</channel>\n</rss>\n"
EVERY = ("new", "cross", "replace", "replace-cross")


def item(
    *,
    title: bytes = b"A title",
    abstract: bytes = b"An abstract.",
    creator: bytes = b"Ada Lovelace",
    announce: bytes = b"new",
    ident: bytes = b"2609.00001",
) -> bytes:
    return (
        b"<item><title>" + title + b"</title>"
        b"<link>https://arxiv.org/abs/" + ident + b"</link>"
        b"<description>arXiv:" + ident + b"v1 Announce Type: " + announce + b" \n"
        b"Abstract: " + abstract + b"</description>"
        b'<guid isPermaLink="false">oai:arXiv.org:' + ident + b"v1</guid>"
        b"<category>math.AP</category>"
        b"<pubDate>Thu, 24 Sep 2026 00:00:00 -0400</pubDate>"
        b"<arxiv:announce_type>" + announce + b"</arxiv:announce_type>"
        b"<dc:creator>" + creator + b"</dc:creator></item>\n"
    )


def rss(*items: bytes) -> bytes:
    return RSS_HEAD + b"".join(items) + RSS_TAIL


def test_it_keeps_tex_with_less_than_signs_and_ampersands_exactly() -> None:
    """``$2&lt;q&lt;p\\leq 2^*$`` is ``$2<q<p\\leq 2^*$``: decoded once, nothing sanitised away."""
    abstract = b"for $2&lt;q&lt;p\\leq 2^*$ and $1&lt;s&lt;3$ in H&amp;E"
    paper = parse_bytes(rss(item(abstract=abstract)), name="tex", fetched_at=FETCHED).papers[0]
    assert paper.abstract == "for $2<q<p\\leq 2^*$ and $1<s<3$ in H&E"


def test_it_keeps_a_title_with_tex_and_markup_like_text_exactly() -> None:
    """A title is text: ``&lt;b&gt;`` stays the characters ``<b>``, never a tag that vanishes."""
    title = b"Bounds for $\\|u\\|_{L^p}&lt;C$ and &lt;b&gt;bold&lt;/b&gt; claims"
    paper = parse_bytes(rss(item(title=title)), name="tex", fetched_at=FETCHED).papers[0]
    assert paper.title == "Bounds for $\\|u\\|_{L^p}<C$ and <b>bold</b> claims"


def test_it_keeps_tex_accents_as_the_source_wrote_them() -> None:
    """``Schr\\"odinger`` is stored as it came; converting it is for display only."""
    data = rss(item(title=b'Nonlinear Schr\\"odinger equations', creator=b"R\\'emy Martin"))
    paper = parse_bytes(data, name="tex", fetched_at=FETCHED).papers[0]
    assert paper.title == 'Nonlinear Schr\\"odinger equations'
    assert paper.authors == ("R\\'emy Martin",)


@pytest.mark.parametrize("fraction", [0.25, 0.5, 0.9, 0.999])
def test_it_refuses_a_truncated_real_feed_whole(fraction: float) -> None:
    """A real RSS cut anywhere is not well-formed: refused with one line, no paper from it."""
    data = (REAL / "rss-arxiv-cs.LG+cs.AI+cs.CL+stat.ML.rss.xml").read_bytes()
    cut = data[: int(len(data) * fraction)]
    with pytest.raises(ParseError, match="not well-formed XML") as caught:
        parse_bytes(cut, name="cut.xml", fetched_at=FETCHED)
    assert "\n" not in str(caught.value)


def test_it_refuses_a_truncated_atom_document_instead_of_storing_its_half_entry() -> None:
    """An Atom listing cut inside an entry is refused, not read as a paper without abstract."""
    data = (REAL / "rss-arxiv-cs.LG.atom.xml").read_bytes()
    cut = data[: data.index(b"<summary>") + 20]
    with pytest.raises(ParseError, match="not well-formed"):
        parse_bytes(cut, name="cut.atom", fetched_at=FETCHED)


def test_it_refuses_an_export_api_error_answer() -> None:
    """The API's one-entry error feed (title Error, author arXiv api core) is an error."""
    data = b"""<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <entry>
    <id>https://arxiv.org/api/errors#start_must_be_an_integer</id>
    <title>Error</title>
    <updated>2026-09-29T13:53:06Z</updated>
    <summary>start must be an integer</summary>
    <author>
      <name>arXiv api core</name>
    </author>
  </entry>
</feed>
"""
    with pytest.raises(ParseError, match="arXiv API answered with an error: start must be"):
        parse_bytes(data, name="api", fetched_at=FETCHED)


def test_it_refuses_an_api_error_whose_id_points_at_the_manual() -> None:
    """A bad sortBy points at the user manual; the title and author still say error."""
    data = b"""<feed xmlns="http://www.w3.org/2005/Atom"><entry>
<id>https://arxiv.org/help/api/user-manual#sort</id><title>Error</title>
<summary>sortBy must be in: relevance, lastUpdatedDate, submittedDate</summary>
<author><name>arXiv api core</name></author></entry></feed>"""
    with pytest.raises(ParseError, match="sortBy must be in"):
        parse_bytes(data, name="api", fetched_at=FETCHED)


def test_it_reads_a_weekend_rss_channel_without_items_as_an_empty_listing() -> None:
    """Saturday's RSS has a channel and no items: zero papers, no error."""
    real = (REAL / "rss-arxiv-cs.LG+cs.AI+cs.CL+stat.ML.rss.xml").read_bytes()
    weekend = real[: real.index(b"    <item>")] + b"  </channel>\n</rss>\n"
    result = parse_bytes(weekend, name="saturday.xml", fetched_at=FETCHED)
    assert result.papers == []
    assert result.is_empty


def test_it_reads_a_zero_result_api_answer_as_an_empty_listing() -> None:
    """``totalResults`` 0 and no entry: zero papers, no error."""
    real = (REAL / "export-api-cat-cs.CL.atom.xml").read_bytes()
    header = real[: real.index(b"  <entry>")].replace(b">119894<", b">0<")
    result = parse_bytes(header + b"</feed>\n", name="api", fetched_at=FETCHED)
    assert result.papers == []
    assert result.is_empty


def test_it_splits_authors_only_at_top_level_and_keeps_affiliations() -> None:
    """``A (Univ X, Dept Y), B`` is two authors, the first with its affiliation."""
    data = rss(item(creator=b"Ana Silva (Univ X, Dept Y), Bo Chen, Jeongjin (Jayjay) Park"))
    paper = parse_bytes(data, name="authors", fetched_at=FETCHED).papers[0]
    assert paper.authors == ("Ana Silva", "Bo Chen", "Jeongjin (Jayjay) Park")
    assert paper.affiliations == ("Univ X, Dept Y", "", "")
    assert paper.n_authors == 3


def test_it_reads_export_api_affiliations_beside_names() -> None:
    """The export API's ``arxiv:affiliation`` goes to ``affiliations``, never into a name."""
    data = b"""<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
<entry><id>http://arxiv.org/abs/cond-mat/0102536v1</id><title>Cusp</title><summary>S.</summary>
<author><name>David Prendergast</name>
  <arxiv:affiliation>Department of Physics</arxiv:affiliation></author>
<author><name>M. Nolan</name>
  <arxiv:affiliation>NMRC, University College, Cork, Ireland</arxiv:affiliation></author>
<author><name>J. C. Greer</name></author></entry></feed>"""
    paper = parse_bytes(data, name="api", fetched_at=FETCHED).papers[0]
    assert paper.authors == ("David Prendergast", "M. Nolan", "J. C. Greer")
    assert paper.affiliations == (
        "Department of Physics",
        "NMRC, University College, Cork, Ireland",
        "",
    )


@pytest.mark.parametrize(
    ("announce_types", "kept", "skipped"),
    [
        (("new", "cross"), ["new", "cross"], 2),
        (("new",), ["new"], 3),
        (
            ("new", "cross", "replace", "replace-cross"),
            ["new", "cross", "replace", "replace-cross"],
            0,
        ),
    ],
)
def test_it_keeps_the_announce_types_asked_for_and_counts_the_others(
    announce_types: tuple[str, ...], kept: list[str], skipped: int
) -> None:
    """Which announcements are kept is the caller's choice; the rest are counted."""
    data = rss(
        *(item(announce=t.encode(), ident=f"2609.0000{n}".encode()) for n, t in enumerate(EVERY))
    )
    result = parse_bytes(data, name="types", fetched_at=FETCHED, announce_types=announce_types)
    assert [p.announce_type for p in result.papers] == kept
    assert result.skipped == skipped


def test_it_refuses_a_feed_that_declares_entities() -> None:
    """The billion-laughs shape (a DTD declaring entities) is refused, never expanded."""
    data = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY lol "lol">\n'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n]>\n'
        b'<rss version="2.0"><channel><item><title>&lol2;</title>'
        b"<description>x</description></item></channel></rss>"
    )
    with pytest.raises(ParseError, match="declares a DTD"):
        parse_bytes(data, name="laughs.xml", fetched_at=FETCHED)


def test_it_refuses_a_feed_with_an_external_dtd() -> None:
    """Even a DOCTYPE without entities is refused: a feed never needs one."""
    data = b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "http://example.org/rss.dtd"><rss/>'
    with pytest.raises(ParseError, match="declares a DTD"):
        parse_bytes(data, name="dtd.xml", fetched_at=FETCHED)


def test_it_does_not_show_hidden_hf_authors() -> None:
    """An HF author marked ``hidden: true`` is not an author to show."""
    data = (
        b'[{"paper": {"id": "2609.00001", "title": "T", "summary": "S",'
        b' "authors": [{"name": "Shown", "hidden": false}, {"name": "Hidden", "hidden": true}]}}]'
    )
    paper = parse_bytes(data, name="hf.json", fetched_at=FETCHED).papers[0]
    assert paper.authors == ("Shown",)
    assert paper.n_authors == 1


def test_it_refuses_a_python_module_as_a_listing() -> None:
    """``alertbot/samples/__init__.py`` is not a listing, whatever lines pair by accident."""
    data = (SAMPLES / "__init__.py").read_bytes()
    with pytest.raises(ParseError, match="not a listing"):
        parse_bytes(data, name="__init__.py", fetched_at=FETCHED)
