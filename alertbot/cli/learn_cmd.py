"""``alertbot learn show|on|off`` (a reader's learned ranking) and ``alertbot bench learn``."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from alertbot.bench.learn import ARMS, EFFECTS, BenchResult, run_bench
from alertbot.bench.simulated import READERS
from alertbot.cli.common import (
    ConfigOption,
    Ref,
    Typer,
    find_or_fail,
    open_store,
    out,
    settings,
    subscriber_service,
)
from alertbot.corpus import load_corpus
from alertbot.learn import LearnParams, suggest
from alertbot.learn.rank import READER_L2, WEIGHT
from alertbot.readers import corpus_vocabulary, learn_params, load_reader, one_blas_thread
from alertbot.schedule.clock import utcnow

learn_app = Typer(
    help="A reader's learned ranking: whether it is on, their feedback, suggestions.",
    no_args_is_help=True,
)


@learn_app.command("show")
def show(ref: Ref, config: ConfigOption = None) -> None:
    """Whether learning orders this reader's digests, their verdicts, and suggestions."""
    cfg = settings(config)
    engine = open_store(cfg)
    sub = find_or_fail(subscriber_service(cfg, engine), ref)
    params = learn_params(cfg)
    corpus = load_corpus(engine, now=utcnow(), days=cfg.match.corpus_days)
    vocabulary, vectors = corpus_vocabulary(corpus.papers)
    with one_blas_thread():
        state = load_reader(engine, sub, vocabulary, vectors, params)
    useful, not_useful = state.counts
    needs = f"needs {params.min_useful} useful and {params.min_not_useful} not useful"
    status = {
        "on": "on: the reader's model orders their keyword matches",
        "off": "off (alertbot learn on NAME allows it again)",
        "waiting": f"waiting for feedback ({needs})",
    }[state.status]
    out.print(Text(f"subscriber {sub.id}: {sub.name}"))
    out.print(Text(f"learning: {status}"))
    out.print(Text(f"feedback: {useful} useful, {not_useful} not useful"))
    found = suggest(state.feedback, state.judged, vocabulary, sub.profile)
    if not found:
        out.print("suggestions: none yet")
    for s in found:
        verb = "add interest" if s.kind == "interest" else "exclude"
        out.print(
            Text(f"suggestion: {verb} {s.query} ({s.useful} useful, {s.not_useful} not useful)")
        )


def _set_learning(ref: str, allowed: bool, config: ConfigOption) -> None:
    cfg = settings(config)
    service = subscriber_service(cfg, open_store(cfg))
    sub = service.set_learning(find_or_fail(service, ref).id, allowed)
    word = "allowed" if allowed else "off"
    out.print(Text(f"learning {word} for subscriber {sub.id}: {sub.name}"))


@learn_app.command("on")
def learning_on(ref: Ref, config: ConfigOption = None) -> None:
    """Allow the learned ranking (it starts once the reader has given enough feedback)."""
    _set_learning(ref, True, config)


@learn_app.command("off")
def learning_off(ref: Ref, config: ConfigOption = None) -> None:
    """Turn the learned ranking off: digests keep the keyword order; feedback is kept."""
    _set_learning(ref, False, config)


def bench_learn(
    days: Annotated[int, typer.Option(min=2, max=30, help="Simulated days.")] = 6,
    cap: Annotated[int, typer.Option(min=1, max=50, help="Papers per digest (the k of @k).")] = 10,
    readers: Annotated[int, typer.Option(min=1, max=len(READERS), help="Simulated readers.")] = len(
        READERS
    ),
    weight: Annotated[float, typer.Option(min=0.0, max=1.0, help="The model's share.")] = WEIGHT,
    l2: Annotated[float, typer.Option(min=0.001, help="Each reader's regularisation.")] = READER_L2,
    seed: Annotated[int, typer.Option(help="Seed of the day split and the verdicts.")] = 15,
) -> None:
    """Simulated readers: keyword-only vs learned ranking vs learned + accepted suggestions.

    Real paper text (the bundled samples and the real feed captures) split into days;
    each reader has a hidden interest, a weaker visible profile and gives feedback on
    what their digest shows. Prints precision@k and nDCG@k per day, the suggestions
    accepted, and training time per reader.
    """
    result = run_bench(
        days=days,
        cap=cap,
        readers=READERS[:readers],
        params=LearnParams(weight=weight, l2=l2),
        seed=seed,
    )
    _print_bench(result)


def _print_bench(result: BenchResult) -> None:
    out.print(
        f"{result.papers} real papers from {len(result.sources)} files, {result.days} days of "
        f"about {result.papers // result.days}; {len(result.readers)} readers; digest cap "
        f"{result.cap}"
    )
    k = result.cap
    table = Table(
        "day",
        "learning",
        *(f"P@{k} {arm}" for arm in ARMS),
        *(f"nDCG@{k} {arm}" for arm in ARMS),
    )
    for day in range(result.days):
        table.add_row(
            str(day + 1),
            f"{result.learning[day]}/{len(result.readers)}",
            *(f"{result.mean(arm, 'precision', day):.3f}" for arm in ARMS),
            *(f"{result.mean(arm, 'ndcg', day):.3f}" for arm in ARMS),
        )
    later = range(1, result.days)  # from the first day feedback exists
    table.add_row(
        f"2-{result.days}",
        "mean",
        *(
            f"{statistics.fmean(result.mean(arm, 'precision', d) for d in later):.3f}"
            for arm in ARMS
        ),
        *(f"{statistics.fmean(result.mean(arm, 'ndcg', d) for d in later):.3f}" for arm in ARMS),
    )
    out.print(table)
    per_reader = Table("reader", *(f"nDCG@{k} {arm} (days 2-)" for arm in ARMS))
    for name in result.readers:
        per_reader.add_row(
            name,
            *(f"{statistics.fmean(result.states[(name, arm)].ndcg[1:]):.3f}" for arm in ARMS),
        )
    out.print(per_reader)
    effects = Counter(a.effect for a in result.accepted)
    tally = ", ".join(f"{effects[e]} {e}" for e in EFFECTS if effects[e])
    out.print(
        f"suggestions offered {result.offered}, accepted {len(result.accepted)} ({tally}; "
        "F1 against the hidden interest on the later days' papers, with vs without):"
    )
    for a in result.accepted:
        out.print(
            Text(f"  day {a.day} {a.reader}: {a.suggestion.kind} {a.suggestion.query}: {a.effect}")
        )
    if result.train_seconds:
        t = sorted(result.train_seconds)
        out.print(
            f"training per reader: median {statistics.median(t) * 1e3:.2f} ms, "
            f"p95 {t[int(0.95 * (len(t) - 1))] * 1e3:.2f} ms, max {t[-1] * 1e3:.2f} ms "
            f"({len(t)} fits)"
        )
    per_paper = result.vocabulary_seconds[-1] / max(result.papers, 1)
    out.print(
        f"vocabulary (once per tick): {result.vocabulary_seconds[-1]:.2f} s for "
        f"{result.papers} papers ({per_paper * 1e3:.2f} ms/paper), "
        f"{result.vocabulary_sizes[-1]} features"
    )
    out.print(Text(f"scikit-learn: {result.sklearn}"))
    for reason in result.reasons:
        out.print(Text(f"  reason: {reason}"))


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add this module's commands to ``app`` and its benchmarks to ``bench``."""
    app.add_typer(learn_app, name="learn")
    bench.command("learn")(bench_learn)
