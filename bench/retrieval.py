"""Retrieval quality and latency on labelled questions, per base.

On the demo base (bench/questions/, split dev/test) it reports recall@1,
recall@5 and MRR for BM25 alone, dense alone and the hybrid; for the hybrid's
decision also how often out-of-scope questions are rejected or, worse,
answered, and how often an in-scope question gets a wrong answer.

``--base changchun`` / ``--base heldout`` measure a base the model was never
fine-tuned on (its records imported as a hall would, its own questions):
BM25 alone, the untuned e5 alone and the shipped engine side by side, and the
shipped engine's recall@1 per question style. The held-out base is measured
once a design is fixed, never to tune it. Run with `make bench`; results go
to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.bases import BASES
from bench.report import machine, table, write_section
from daoban.logging_setup import configure_logging
from daoban.settings import load_settings
from daoban.setup_steps import seed_files
from index.engine import RetrievalEngine
from index.runtime import build_index
from knowledge.jsonl import read_jsonl
from knowledge.runtime import open_store
from knowledge.schema import Record

logger = logging.getLogger(__name__)
QUESTIONS = Path(__file__).resolve().parent / "questions"


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    expected: frozenset[str]
    style: str
    split: str


DEMO_FILES = ("in_scope.jsonl", "out_of_scope.jsonl")  # the demo base's questions; other bases have files of their own


def load_questions(directory: Path = QUESTIONS) -> list[Question]:
    questions = []
    for path in (directory / name for name in DEMO_FILES):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                questions.append(Question(row["id"], row["question"], frozenset(row["expected"]), row["style"], row["split"]))
    return questions


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def recall_metrics(results: Iterable[tuple[Collection[str], list[str]]]) -> dict[str, float]:
    """recall@1, recall@5 and MRR over (expected codes, ranked codes) pairs."""
    hits1 = hits5 = n = 0
    reciprocal = 0.0
    for expected, codes in results:
        n += 1
        rank = next((i + 1 for i, code in enumerate(codes) if code in expected), None)
        hits1 += rank == 1
        hits5 += rank is not None and rank <= 5
        reciprocal += 1.0 / rank if rank else 0.0
    n = max(n, 1)
    return {"recall@1": hits1 / n, "recall@5": hits5 / n, "mrr": reciprocal / n}


def ranking_metrics(engine: RetrievalEngine, questions: list[Question], mode: str) -> dict[str, float]:
    return recall_metrics((q.expected, [c.code for c in engine.search(q.text, top_k=10, mode=mode).candidates])
                          for q in questions)


def decision_metrics(engine: RetrievalEngine, in_scope: list[Question], out_of_scope: list[Question]) -> dict[str, float]:
    answered_right = answered_wrong = suggested_with_right = declined = 0
    for question in in_scope:
        result = engine.search(question.text)
        shown = {c.code for c in result.shown}
        if result.decision == "answer":
            answered_right += bool(shown & question.expected)
            answered_wrong += not (shown & question.expected)
        elif result.decision == "suggest":
            suggested_with_right += bool(shown & question.expected)
        else:
            declined += 1
    rejected = answered_oos = 0
    for question in out_of_scope:
        decision = engine.search(question.text).decision
        rejected += decision == "reject"
        answered_oos += decision == "answer"
    n, m = max(len(in_scope), 1), max(len(out_of_scope), 1)
    return {
        "answered right": answered_right / n,
        "answered wrong": answered_wrong / n,
        "suggested incl. right": suggested_with_right / n,
        "in-scope declined": declined / n,
        "oos rejected": rejected / m,
        "oos answered": answered_oos / m,
    }


def latency(engine: RetrievalEngine, questions: list[Question]) -> dict[str, float]:
    total, search_only = [], []
    for question in questions:
        result = engine.search(question.text)
        total.append(result.encode_ms + result.search_ms)
        search_only.append(result.search_ms)
    return {
        "p50 total": percentile(total, 50), "p95 total": percentile(total, 95),
        "p50 excl. encode": percentile(search_only, 50), "p95 excl. encode": percentile(search_only, 95),
    }


def build_engine(home: Path, records: list[Record] | None = None,
                 model_dir: Path | None = None) -> tuple[RetrievalEngine, float]:
    """An engine over ``records`` (the demo seed when None), with ``model_dir`` (the shipped model when None)."""
    settings = load_settings(home=home, **({"e5_model_dir": model_dir} if model_dir else {}))
    store = open_store(settings)
    store.import_records(records if records is not None else read_jsonl(seed_files(settings.seed_dir)), actor="bench")
    started = time.perf_counter()
    engine = build_index(settings, store)
    return engine, time.perf_counter() - started


def load_base_questions(path: Path) -> list[Question]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Question(r["id"], r["question"], frozenset(r["expected"]), r["style"], "all") for r in rows]


def run_base(name: str) -> str:
    """A base the model was not tuned on: three rankings side by side, the decisions, recall@1 per style."""
    spec = BASES[name]
    assert spec.questions is not None
    questions = load_base_questions(spec.questions)
    in_scope = [q for q in questions if q.expected]
    out_of_scope = [q for q in questions if not q.expected]
    records = spec.records()
    with tempfile.TemporaryDirectory(prefix="daoban-bench-") as home:
        shipped, build_s = build_engine(Path(home) / "shipped", records)
        untuned, _ = build_engine(Path(home) / "untuned", records, load_settings().base_model_dir)
        rows = []
        for engine, mode, label in ((shipped, "sparse", "BM25 (jieba, with the lexicon)"),
                                    (untuned, "dense", "untuned e5 alone"),
                                    (shipped, "hybrid", "shipped engine (tuned e5 + BM25)")):
            m = ranking_metrics(engine, in_scope, mode)
            rows.append([label, f"{m['recall@1']:.3f}", f"{m['recall@5']:.3f}", f"{m['mrr']:.3f}"])
        decisions = decision_metrics(shipped, in_scope, out_of_scope)
        styles = sorted({q.style for q in in_scope})
        per_style = [[style, sum(q.style == style for q in in_scope),
                      f"{ranking_metrics(shipped, [q for q in in_scope if q.style == style], 'hybrid')['recall@1']:.3f}"]
                     for style in styles]
        timing = latency(shipped, in_scope[:200])
    note = (" **Held out: measured once, after the design was fixed; nothing was tuned on it.**"
            if spec.held_out else "")
    body = [
        f"## Retrieval quality ({name} base)",
        "",
        f"Machine: {machine()}. {len(in_scope)} in-scope questions, {len(out_of_scope)} out-of-scope, written by "
        f"writers who did not see the engine; base of {len(records)} records imported as a hall would (no aliases, "
        f"no similar questions), the shipped model used as it is (fine-tuned on the demo base only; index build "
        f"{build_s:.1f} s).{note}",
        "",
        table(["ranking", "recall@1", "recall@5", "MRR"], rows),
        "",
        "Decision of the shipped engine:",
        "",
        table(list(decisions), [[f"{v:.3f}" for v in decisions.values()]]),
        "",
        "Recall@1 of the shipped engine per question style:",
        "",
        table(["style", "questions", "recall@1"], per_style),
        "",
        "Query latency of the shipped engine (ms, one query at a time):",
        "",
        table(list(timing), [[f"{v:.1f}" for v in timing.values()]]),
    ]
    return "\n".join(body)


def run(split: str) -> str:
    questions = load_questions()
    chosen = [q for q in questions if split == "all" or q.split == split]
    in_scope = [q for q in chosen if q.expected]
    out_of_scope = [q for q in chosen if not q.expected]
    with tempfile.TemporaryDirectory(prefix="daoban-bench-") as home:
        engine, build_s = build_engine(Path(home))
        rows = []
        for mode, label in (("sparse", "BM25 (jieba)"), ("dense", "dense (e5 + faiss)"), ("hybrid", "hybrid (dense + BM25)")):
            m = ranking_metrics(engine, in_scope, mode)
            rows.append([label, f"{m['recall@1']:.3f}", f"{m['recall@5']:.3f}", f"{m['mrr']:.3f}"])
        decisions = decision_metrics(engine, in_scope, out_of_scope)
        timing = latency(engine, in_scope[:200])
        records, documents = len(engine.records()), len(engine.documents)
    body = [
        "## Retrieval quality (demo base)",
        "",
        f"Machine: {machine()}. Split: `{split}` — {len(in_scope)} in-scope questions, "
        f"{len(out_of_scope)} out-of-scope; base of {records} records as {documents} documents "
        f"(index build {build_s:.1f} s with the embedding cache warm).",
        "",
        table(["ranking", "recall@1", "recall@5", "MRR"], rows),
        "",
        "Decision of the hybrid engine:",
        "",
        table(list(decisions), [[f"{v:.3f}" for v in decisions.values()]]),
        "",
        "Query latency of the hybrid engine (ms, one query at a time):",
        "",
        table(list(timing), [[f"{v:.1f}" for v in timing.values()]]),
    ]
    return "\n".join(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--split", choices=("dev", "test", "all"), default="test", help="of the demo base's questions")
    parser.add_argument("--base", choices=sorted(BASES), default="demo")
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/benchmarks.md alone")
    args = parser.parse_args()
    configure_logging("WARNING")
    if args.base != "demo" and not BASES[args.base].available():
        parser.error(f"the {args.base} base's source data is not on this machine")
    body = run(args.split) if args.base == "demo" else run_base(args.base)
    print(body)  # noqa: T201 - a benchmark's report is its output
    if not args.no_write:
        write_section(f"retrieval-{args.split}" if args.base == "demo" else f"retrieval-{args.base}", body)


if __name__ == "__main__":
    main()
