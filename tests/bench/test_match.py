"""``alertbot bench match``'s own rules: each difference from an engine named by the
rule that explains it, a naive sample sized by the work it does, and progress as it goes
(the figures are the bench's to print, not a test's to time)."""

from __future__ import annotations

from alertbot.bench import match as bench
from alertbot.bench.agree import Explainer, agree
from alertbot.bench.engines import EngineRun
from alertbot.model import Paper, Profile


def paper(title: str, abstract: str = "", authors: tuple[str, ...] = ("Ana Lind",)) -> Paper:
    return Paper(id=title[:20], title=title, abstract=abstract, source_format="t", authors=authors)


def explain(engine: str, interest: str, *papers: Paper) -> str | None:
    return Explainer(engine, papers).explain(Profile((interest,)), 0)


def test_it_names_tex_read_as_unicode() -> None:
    """A word the engines see as TeX source and alertbot as Unicode is the TeX rule."""
    found = explain("fts5", "Schrödinger", paper('The Schr\\"odinger equation'))
    assert found == "TeX read as Unicode (the engines index the source text)"


def test_it_names_folded_accents_for_tantivy() -> None:
    """tantivy's en_stem keeps accents, alertbot folds them: the accented word is named."""
    assert explain("tantivy", "schrodinger", paper("The Schrödinger equation")) == (
        "accents folded ('schrödinger')"
    )


def test_it_names_fts5_prefixes_over_porter_stems() -> None:
    """A prefix differs in FTS5 because it compares prefixes with Porter stems."""
    assert explain("fts5", "transformat*", paper("Transformers")) == (
        "FTS5 compares prefixes with Porter stems, alertbot with words"
    )


def test_it_names_acronym_plurals() -> None:
    """LLMs = LLM for alertbot, not for Snowball alone: the acronym plural rule."""
    assert explain("tantivy", "LLM", paper("Aligning LLMs")) == "acronym plural ('llms' / 'llm')"


def test_it_names_the_first_word_the_stemmers_split() -> None:
    """Porter makes generally, generalization and generate one stem, alertbot does not:
    the paper's first such word is named (generation agrees in both)."""
    text = paper("On text", "The generation of text; generally, a generalization.")
    assert explain("fts5", "generate", text) == (
        "stemmer ('generally' / 'generate': fts5 stems them otherwise)"
    )


def test_it_says_none_when_no_rule_accounts_for_a_difference() -> None:
    """Words both sides read alike explain nothing."""
    assert explain("tantivy", "graph", paper("Graph networks")) is None


def test_kept_facts_do_not_change_an_answer() -> None:
    """One explainer over many pairs answers as a fresh one per pair."""
    papers = [
        paper("Aligning LLMs", "generally a generalization"),
        paper('Schr\\"odinger and Schrödinger', "transformers transform text"),
        paper("Graph networks", "networked graphs of LLMs"),
    ]
    profiles = [
        Profile(("LLM",)), Profile(("generate", "transform*")), Profile(("schrodinger",)),
        Profile(("graph network", '"text generation"'), ("survey",)),
    ]  # fmt: skip
    for engine in ("tantivy", "fts5"):
        kept = Explainer(engine, papers)
        for profile in profiles:
            for j in range(len(papers)):
                assert kept.explain(profile, j) == Explainer(engine, papers).explain(profile, j)


def test_agreement_counts_each_side_and_leaves_out_minimum_scores() -> None:
    """Pairs only one side found are counted per side, under their rule; profiles with a
    minimum score are not compared (the engines' scores differ from ours)."""
    papers = [paper("Aligning LLMs"), paper("Graph networks")]
    profiles = {0: Profile(("LLM",)), 1: Profile(("graph",)), 2: Profile(("LLM",), min_score=2)}
    ours = {0: {0}, 1: {1}, 2: {0}}
    run = EngineRun("tantivy", 0.0, 0.0, 0.0, {1: {0, 1}, 2: {1}})
    result = agree(run, lambda k: ours[k], profiles, papers)
    assert (result.profiles, result.pairs) == (2, 2)
    assert (result.only_alertbot, result.only_engine) == (1, 1)
    assert result.reasons == {"acronym plural": 1, "unexplained": 1}
    assert result.examples == ["tantivy only: ('graph',) -() on Aligning LLMs"]


def test_agreement_classifies_at_most_the_distinct_differences_asked() -> None:
    """Past ``explained`` distinct differences the rest are counted as not classified."""
    papers = [paper(f"Aligning LLMs {n}") for n in range(3)]
    run = EngineRun("tantivy", 0.0, 0.0, 0.0, {})
    result = agree(run, lambda k: {0, 1, 2}, {0: Profile(("LLM",))}, papers, explained=2)
    assert result.reasons == {"acronym plural": 2, "not classified (past the sample)": 1}


def test_the_naive_sample_shrinks_past_a_thousand_papers() -> None:
    """1,000 profiles up to 1,000 papers, then about a million pairs, never under 100."""
    sizes = [bench.naive_sample_size(n) for n in (40, 1000, 2000, 10_000, 100_000)]
    assert sizes == [1000, 1000, 500, 100, 100]


def test_it_reports_each_step_as_it_starts() -> None:
    """run_bench tells its progress callback every step, in order, each engine compared
    as soon as it has run."""
    papers = bench.generate_papers([bench.FALLBACK_TEXT], 30)
    profiles = bench.generate_profiles([bench.FALLBACK_TEXT], 50)
    steps: list[str] = []
    result = bench.run_bench(profiles, papers, against=("fts5", "tantivy"), progress=steps.append)
    assert steps == [
        "corpus statistics",
        "alertbot: building the index",
        "alertbot: matching",
        "alertbot: the first 20 Matches of 50 profiles",
        "naive reference: 50 profiles",
        "comparing with the naive reference",
        "fts5: indexing, then one query per profile",
        "fts5: comparing match sets",
        "tantivy: indexing, then one query per profile",
        "tantivy: comparing match sets",
    ]
    assert result.identical
    assert result.naive_auto


def test_a_given_naive_sample_is_kept() -> None:
    """--naive-sample N checks N profiles, whatever the papers."""
    papers = bench.generate_papers([bench.FALLBACK_TEXT], 30)
    profiles = bench.generate_profiles([bench.FALLBACK_TEXT], 50)
    result = bench.run_bench(profiles, papers, naive_sample=7)
    assert (result.naive_profiles, result.naive_auto) == (7, False)


def test_the_peak_memory_is_the_match_s_own() -> None:
    """The peak is taken afresh before alertbot matches, so memory let go before (a first
    workload's engines) does not count, and it is at least what was resident then."""
    papers = bench.generate_papers([bench.FALLBACK_TEXT], 30)
    profiles = bench.generate_profiles([bench.FALLBACK_TEXT], 50)
    held = bytearray(300 * 2**20)  # touched: resident, then let go before the run
    held[::4096] = b"x" * len(held[::4096])
    del held
    result = bench.run_bench(profiles, papers)
    assert result.peak_reset  # Linux keeps a high-water mark that can be reset
    assert result.rss_before_mb <= result.peak_rss_mb < bench._rss_mb() + 250
