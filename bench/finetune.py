"""Experiments with fine-tuning e5 (index.finetune) and calibrating thresholds for a model.

Training (``--out DIR``): ``index.finetune.fine_tune`` with a recipe from the
command line (the shipped one by default), on the seed files or, with
``--from-store``, on the published records. Set-up trains the shipped recipe
by itself (``daoban.setup_steps.ensure_tuned_model``); this is for trying
others. Use a trained folder with ``DAOBAN_E5_MODEL_DIR=DIR``.

Calibration (``--calibrate DIR``): ranks the dev split once with the model and
applies a grid of thresholds far wider than ``bench.calibrate``'s, since
fine-tuning moves every cosine; same rule (at most ``--max-wrong`` wrong answers
and ``--max-oos`` out-of-scope questions answered, then most right answers).
``--test`` then scores test once with the shipped and the chosen thresholds.
Print only: nothing in the repository changes. Both modes keep to a copy of the
embedding cache, so var/cache/embeddings.sqlite never sees the new vectors.

    python -m bench.finetune --out /tmp/ft/e5-kb
    python -m bench.finetune --calibrate /tmp/ft/e5-kb --test
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from index.finetune import SHIPPED_RECIPE
from knowledge.schema import Record

logger = logging.getLogger("bench.finetune")

def load_records(from_store: bool) -> list[Record]:
    from daoban.settings import load_settings

    settings = load_settings()
    if from_store:
        from knowledge.runtime import open_store

        return open_store(settings, migrate_schema=False).published()
    from daoban.setup_steps import seed_files
    from knowledge.jsonl import read_jsonl

    return read_jsonl(seed_files(settings.seed_dir))


def train(args: argparse.Namespace) -> None:
    from daoban.settings import load_settings
    from index.finetune import Recipe, fine_tune

    base_dir = Path(args.base or load_settings().base_model_dir).resolve()
    if not (base_dir / "modules.json").is_file():
        raise SystemExit(f"no converted model at {base_dir}: run `make setup` first")
    recipe = Recipe(epochs=args.epochs, lr=args.lr, batch=args.batch, seed=args.seed, scale=args.scale,
                    max_seq_length=args.max_seq_length, descriptions=args.descriptions,
                    hard_negatives=args.hard_negatives)
    fine_tune(base_dir, Path(args.out), load_records(args.from_store), recipe, threads=args.threads,
              checkpoints=args.checkpoints, extra_marker={"source": "store" if args.from_store else "seed"})


# ---- calibration with a grid wide enough for a fine-tuned model ------------

WIDE_GRID = {
    "reject_below": tuple(round(0.30 + 0.01 * i, 2) for i in range(64)),  # 0.30 .. 0.93
    "floor_above": (0.01, 0.02, 0.04, 0.07),  # lexical_floor = reject_below + this
    "answer_margin": (0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.08),
    "agreed_margin": (0.0, 0.002, 0.004, 0.006, 0.01, 0.02, 0.04),
}
SPARSE_WEIGHTS = (0.0, 0.025, 0.05, 0.075, 0.1, 0.2)
SUPPORT_WEIGHTS = (0.0, 0.2, 0.3, 0.4)


@contextlib.contextmanager
def isolated_cache(model_dir: Path | None) -> Iterator[Path]:
    """DAOBAN_CACHE_DIR pointed at a throw-away copy of the embedding cache and jieba's,
    and DAOBAN_E5_MODEL_DIR at ``model_dir`` (the converted, untuned model when None)."""
    from daoban.settings import load_settings

    settings = load_settings()
    saved = {k: os.environ.get(k) for k in ("DAOBAN_CACHE_DIR", "DAOBAN_E5_MODEL_DIR")}
    with tempfile.TemporaryDirectory(prefix="daoban-ft-cache-") as tmp:
        cache = Path(tmp)
        if (settings.cache_dir / "embeddings.sqlite").is_file():
            shutil.copy2(settings.cache_dir / "embeddings.sqlite", cache / "embeddings.sqlite")
        if (settings.cache_dir / "jieba").is_dir():
            shutil.copytree(settings.cache_dir / "jieba", cache / "jieba")
        os.environ["DAOBAN_CACHE_DIR"] = str(cache)
        os.environ["DAOBAN_E5_MODEL_DIR"] = str((model_dir or settings.base_model_dir).resolve())
        try:
            yield cache
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def refuse(ranking, weight: float, support: float = 0.0):
    """The ranking's candidates fused again with another ``sparse_weight`` and ``support_weight``."""
    from index.decision import DecisionPolicy, PooledScores, fuse
    from index.engine import Ranking

    present = sum(1 for c in ranking.candidates if c.dense != 0.0)
    # inserted in the original rank order: ``fuse`` ranks equal scores in insertion order
    by_dense = sorted((c for c in ranking.candidates if c.dense_rank <= present), key=lambda c: c.dense_rank)
    by_sparse = sorted((c for c in ranking.candidates if c.sparse_rank is not None), key=lambda c: c.sparse_rank)
    pooled = PooledScores(
        dense={c.code: c.dense for c in by_dense}, sparse={c.code: c.sparse for c in by_sparse},
        support={c.code: c.support for c in by_dense if c.support},
        matched={c.code: c.matched for c in ranking.candidates},
    )
    names = {c.code: (c.kind, c.name) for c in ranking.candidates}
    return Ranking(ranking.text, fuse(pooled, names, DecisionPolicy(sparse_weight=weight, support_weight=support)), ranking.revision, 0.0)


def prune(ranking):
    """The candidates ``decide`` can look at, so a grid of thousands of policies runs in seconds.

    Kept: the 50 best by fused score, the first two on each side, and every record within
    ``suggest_window`` of the top record's cosine; ``decide`` gives the same result on these.
    """
    from index.decision import DecisionPolicy
    from index.engine import Ranking

    if not ranking.candidates:
        return ranking
    top, window = ranking.candidates[0].dense, DecisionPolicy().suggest_window
    kept = [c for i, c in enumerate(ranking.candidates)
            if i < 50 or c.dense_rank <= 2 or (c.sparse_rank or 99) <= 2 or top - c.dense <= window]
    return Ranking(ranking.text, kept, ranking.revision, ranking.encode_ms)


def rank_metrics(ranked) -> dict[str, float]:
    from bench.retrieval import recall_metrics

    return recall_metrics((q.expected, [c.code for c in r.candidates[:10]]) for q, r in ranked if q.expected)


def policies(base, weight: float, support: float = 0.0):
    for reject, above, answer, agreed in itertools.product(*WIDE_GRID.values()):
        yield replace(base, sparse_weight=weight, support_weight=support, reject_below=reject, lexical_floor=round(min(reject + above, 0.99), 3),
                      answer_margin=answer, agreed_margin=agreed)


def calibrate(args: argparse.Namespace) -> None:
    from bench.calibrate import outcome
    from bench.report import table
    from bench.retrieval import build_engine, load_questions

    model_dir = (Path(args.base) if args.base else None) if args.calibrate == "base" else Path(args.calibrate)
    questions = load_questions()
    dev = [q for q in questions if q.split == "dev"]
    test = [q for q in questions if q.split == "test"]
    with isolated_cache(model_dir), tempfile.TemporaryDirectory(prefix="daoban-ft-") as home:
        engine, build_s = build_engine(Path(home))
        print(f"model {os.environ['DAOBAN_E5_MODEL_DIR']} (index build {build_s:.1f} s)")  # noqa: T201
        shipped = engine.policy  # what the engine really uses for this model: index.runtime.policy_for
        base_weight = (shipped.sparse_weight, shipped.support_weight)
        weights = args.weights or list(itertools.product(SPARSE_WEIGHTS, SUPPORT_WEIGHTS if args.sweep_weight else (0.0,)))
        weights = list(dict.fromkeys([base_weight, *weights]))
        ranked = {w: [] for w in weights}
        for question in dev:
            ranking = engine.rank(question.text)
            for weight in weights:
                ranked[weight].append((question, prune(refuse(ranking, *weight))))
        dense = [(q, engine.rank(q.text, mode="dense")) for q in dev]
        rows = [["dense", *(f"{v:.3f}" for v in rank_metrics(dense).values())]]
        rows += [[f"hybrid, sparse_weight {w}, support_weight {u}",
                  *(f"{v:.3f}" for v in rank_metrics(ranked[(w, u)]).values())] for w, u in weights]
        print("\ndev ranking (in-scope questions, top 10):\n")  # noqa: T201
        print(table(["ranking", "recall@1", "recall@5", "MRR"], rows))  # noqa: T201

        best = []
        for weight in (weights if args.sweep_weight or args.weights else [base_weight]):
            for policy in policies(shipped, *weight):
                result = outcome(engine, ranked[weight], policy)
                if result["wrong"] <= args.max_wrong and result["oos_answered"] <= args.max_oos:
                    best.append((policy, result))
        best.sort(key=lambda r: (-r[1]["right"], -r[1]["oos_rejected"], -r[1]["offered"]))
        fields = ("sparse_weight", "support_weight", "reject_below", "lexical_floor", "answer_margin", "agreed_margin")
        current = outcome(engine, ranked[base_weight], shipped)
        body = [["shipped", *(getattr(shipped, k) for k in fields), *(f"{v:.3f}" for v in current.values())]]
        body += [[f"#{i + 1}", *(getattr(p, k) for k in fields), *(f"{v:.3f}" for v in r.values())]
                 for i, (p, r) in enumerate(best[:10])]
        print(f"\ndev decisions: shipped thresholds, then the best of {len(best)} admissible "  # noqa: T201
              f"(wrong <= {args.max_wrong}, oos answered <= {args.max_oos}):\n")
        print(table(["", *fields, *current], body))  # noqa: T201
        if not best:
            return
        chosen = best[0][0]
        if args.test:
            ranked_test = [(q, prune(engine.rank(q.text))) for q in test]
            dense_test = [(q, engine.rank(q.text, mode="dense")) for q in test]
            rows = [["dense", *(f"{v:.3f}" for v in rank_metrics(dense_test).values())],
                    [f"hybrid, sparse_weight {shipped.sparse_weight}, support_weight {shipped.support_weight}",
                     *(f"{v:.3f}" for v in rank_metrics(ranked_test).values())]]
            chosen_test = ranked_test
            if (chosen.sparse_weight, chosen.support_weight) != base_weight:
                chosen_test = [(q, prune(refuse(engine.rank(q.text), chosen.sparse_weight, chosen.support_weight)))
                               for q in test]
                rows.append([f"hybrid, sparse_weight {chosen.sparse_weight}, support_weight {chosen.support_weight}",
                             *(f"{v:.3f}" for v in rank_metrics(chosen_test).values())])
            print("\ntest ranking (in-scope questions, top 10):\n")  # noqa: T201
            print(table(["ranking", "recall@1", "recall@5", "MRR"], rows))  # noqa: T201
            body = [["shipped", *(getattr(shipped, k) for k in fields),
                     *(f"{v:.3f}" for v in outcome(engine, ranked_test, shipped).values())],
                    ["chosen on dev", *(getattr(chosen, k) for k in fields),
                     *(f"{v:.3f}" for v in outcome(engine, chosen_test, chosen).values())]]
            print("\ntest decisions:\n")  # noqa: T201
            print(table(["", *fields, *current], body))  # noqa: T201


def weight_pair(text: str) -> tuple[float, float]:
    try:
        sparse, support = (float(part) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected SPARSE:SUPPORT like 0.075:0.2, got {text!r}") from None
    return sparse, support


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--out", help="train: folder for the fine-tuned model")
    mode.add_argument("--calibrate", metavar="MODEL_DIR", help="rank dev with this model ('base' for the converted "
                      "one) and search a wide threshold grid")
    shipped = SHIPPED_RECIPE  # each option defaults to the shipped recipe's value
    parser.add_argument("--epochs", type=int, default=shipped.epochs)
    parser.add_argument("--lr", type=float, default=shipped.lr)
    parser.add_argument("--batch", type=int, default=shipped.batch)
    parser.add_argument("--seed", type=int, default=shipped.seed)
    parser.add_argument("--scale", type=float, default=shipped.scale, help="MNRL's inverse temperature")
    parser.add_argument("--max-seq-length", type=int, default=shipped.max_seq_length,
                        help="while training; the saved model keeps its own")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--checkpoints", action="store_true", help="also save every earlier epoch to OUT.epoch-N")
    parser.add_argument("--descriptions", action="store_true",
                        help="also anchor summaries, conditions and situations, a sentence at a time")
    parser.add_argument("--hard-negatives", action="store_true",
                        help="add each anchor's closest other record, as the untuned model ranks them")
    parser.add_argument("--from-store", action="store_true",
                        help="train on the published records of the configured store, not the seed files")
    parser.add_argument("--base", help="model to start from (default: the converted e5 of the settings)")
    parser.add_argument("--max-wrong", type=float, default=0.03)
    parser.add_argument("--max-oos", type=float, default=0.035)
    parser.add_argument("--sweep-weight", action="store_true", help="also search sparse_weight and support_weight when calibrating")
    parser.add_argument("--weights", type=weight_pair, action="append", metavar="SPARSE:SUPPORT",
                        help="search thresholds for these fusion weights only (repeatable; the full sweep takes long)")
    parser.add_argument("--test", action="store_true", help="after calibrating, score the test split once")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("sentence_transformers", "transformers", "jieba", "httpx", "index", "knowledge", "daoban", "alembic",
                  "faiss"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("index.finetune").setLevel(logging.INFO)
    if args.out:
        train(args)
    else:
        calibrate(args)


if __name__ == "__main__":
    main()
