"""Fine-tuning the converted e5 model on the knowledge base's own phrasings (an experiment).

Training (``--out DIR``): every alias and similar question of a record, as the
engine turns it into a search document (``index.documents.documents_for``), is
an anchor with the ``query: `` prompt; the record's name document, with
``passage: ``, is its positive. Loss: sentence-transformers'
MultipleNegativesRankingLoss with in-batch negatives. No batch holds two pairs
of one record, nor of an item and its cross-province twin (they would be each
other's false negatives). The word embeddings are frozen. Only the knowledge
base's own texts are used, never bench/questions. The folder written loads in
sentence-transformers and carries its own ``daoban_source.json``, so its model
fingerprint, and with it every embedding-cache key, differs from the base
model's. Use it with ``DAOBAN_E5_MODEL_DIR=DIR``.

Calibration (``--calibrate DIR``): ranks the dev split once with the model and
applies a grid of thresholds far wider than ``bench.calibrate``'s, since
fine-tuning moves every cosine; same rule (at most ``--max-wrong`` wrong answers
and ``--max-oos`` out-of-scope questions answered, then most right answers).
``--test`` then scores test once with the shipped and the chosen thresholds.
Print only: nothing in the repository changes. Both modes keep to a copy of the
embedding cache, so var/cache/embeddings.sqlite never sees the new vectors.

    python -m bench.finetune --out /tmp/ft/e5-kb --epochs 3 --lr 5e-5 --batch 32
    python -m bench.finetune --calibrate /tmp/ft/e5-kb --test
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import json
import logging
import os
import random
import shutil
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from knowledge.schema import CrossProvinceEntry, Record

logger = logging.getLogger("bench.finetune")

MARKER = "daoban_source.json"
TRAINER_VERSION = "1"


@dataclass(frozen=True)
class Pair:
    anchor: str
    positive: str
    code: str
    group: str


# ---- training data ---------------------------------------------------------


def build_pairs(records: list[Record]) -> tuple[list[Pair], int]:
    """(alias or question -> name) pairs, from the same documents the engine indexes.

    An anchor whose text is also an anchor or name of a record in another group is
    left out: its "negatives" would include a right answer. Returns the pairs and
    how many anchors were left out that way.
    """
    from index.documents import documents_for

    codes = {r.code for r in records}
    group_of = {
        r.code: (r.item_code if isinstance(r, CrossProvinceEntry) and r.item_code in codes else r.code) for r in records
    }
    docs = {r.code: documents_for(r) for r in records}
    groups_by_text: dict[str, set[str]] = {}
    for code, record_docs in docs.items():
        for doc in record_docs:
            if doc.field in ("name", "alias", "question"):
                groups_by_text.setdefault(doc.text, set()).add(group_of[code])
    pairs, ambiguous = [], 0
    for record in sorted(records, key=lambda r: r.code):
        record_docs = docs[record.code]
        name = next(d.text for d in record_docs if d.field == "name")
        for doc in record_docs:
            if doc.field not in ("alias", "question"):
                continue
            if len(groups_by_text[doc.text]) > 1:
                ambiguous += 1
                continue
            pairs.append(Pair(anchor=doc.text, positive=name, code=record.code, group=group_of[record.code]))
    return pairs, ambiguous


def make_batches(pairs: list[Pair], size: int, rng: random.Random) -> list[list[Pair]]:
    """Shuffled batches of at most ``size`` pairs, never two of one group in a batch.

    A pair that would repeat its group waits at the front of the queue for the next
    batch, so a record with many phrasings spreads over consecutive batches.
    Batches of a single pair teach nothing under in-batch negatives and are dropped.
    """
    pending = deque(rng.sample(pairs, len(pairs)))
    batches = []
    while pending:
        batch: list[Pair] = []
        groups: set[str] = set()
        deferred: list[Pair] = []
        while pending and len(batch) < size:
            pair = pending.popleft()
            if pair.group in groups:
                deferred.append(pair)
            else:
                batch.append(pair)
                groups.add(pair.group)
        pending.extendleft(reversed(deferred))
        if len(batch) >= 2:
            batches.append(batch)
    return batches


def load_records(from_store: bool) -> list[Record]:
    from daoban.settings import load_settings

    settings = load_settings()
    if from_store:
        from knowledge.runtime import open_store

        return open_store(settings, migrate_schema=False).published()
    from daoban.setup_steps import seed_files
    from knowledge.jsonl import read_jsonl

    return read_jsonl(seed_files(settings.seed_dir))


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)


def data_fingerprint(pairs: list[Pair]) -> str:
    digest = hashlib.sha256()
    for pair in pairs:
        digest.update(f"{pair.code}\x00{pair.anchor}\x00{pair.positive}\n".encode())
    return digest.hexdigest()


def train(args: argparse.Namespace) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from transformers import get_linear_schedule_with_warmup

    from daoban.settings import load_settings
    from index.embedder import model_fingerprint

    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    base_dir = Path(args.base or load_settings().embedding_model_dir).resolve()
    if not (base_dir / "modules.json").is_file():
        raise SystemExit(f"no converted model at {base_dir}: run `make setup` first")
    out = Path(args.out).resolve()
    if out == base_dir:
        raise SystemExit("--out must not be the base model's folder")

    records = load_records(args.from_store)
    pairs, ambiguous = build_pairs(records)
    n_groups = len({p.group for p in pairs})
    logger.info("%d records -> %d pairs over %d groups (%d ambiguous anchors left out)",
                len(records), len(pairs), n_groups, ambiguous)

    model = SentenceTransformer(str(base_dir), device="cpu", local_files_only=True)
    full_length = model.max_seq_length
    model.max_seq_length = args.max_seq_length
    hf_model = model[0].auto_model
    hf_model.get_input_embeddings().weight.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    logger.info("training %.1f M parameters (word embeddings frozen)", sum(p.numel() for p in trainable) / 1e6)
    loss_fn = MultipleNegativesRankingLoss(model, scale=args.scale)

    rng = random.Random(args.seed)
    epochs_batches = [make_batches(pairs, args.batch, rng) for _ in range(args.epochs)]
    total_steps = sum(len(b) for b in epochs_batches)
    optimizer = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.01)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(0.1 * total_steps), total_steps)
    base_marker = base_dir / MARKER
    base_source = json.loads(base_marker.read_text()) if base_marker.is_file() else None
    recipe = {
        "epochs": args.epochs, "lr": args.lr, "batch": args.batch, "seed": args.seed, "scale": args.scale,
        "max_seq_length": args.max_seq_length, "weight_decay": 0.01, "warmup": 0.1, "frozen": "word_embeddings",
        "loss": "MultipleNegativesRankingLoss", "anchors": "alias+question (query: )", "positive": "name (passage: )",
    }
    data = {"records": len(records), "pairs": len(pairs), "groups": n_groups, "ambiguous_left_out": ambiguous,
            "sha256": data_fingerprint(pairs), "source": "store" if args.from_store else "seed"}

    started = time.perf_counter()
    step = 0
    for epoch, batches in enumerate(epochs_batches, start=1):
        model.train()
        epoch_started, running = time.perf_counter(), 0.0
        for batch in batches:
            anchors = model.preprocess([p.anchor for p in batch], prompt="query: ")
            positives = model.preprocess([p.positive for p in batch], prompt="passage: ")
            loss = loss_fn([anchors, positives], None)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            running += float(loss.detach())
            step += 1
        epoch_s = time.perf_counter() - epoch_started
        logger.info("epoch %d: %d steps, mean loss %.4f, %.0f s", epoch, len(batches), running / len(batches), epoch_s)
        if epoch == args.epochs or args.checkpoints:
            target = out if epoch == args.epochs else out / f"epoch-{epoch}"
            save(model, target, full_length, {
                "trainer": "bench.finetune", "trainer_version": TRAINER_VERSION,
                "base_model": model_fingerprint(base_dir), "base_source": base_source,
                "recipe": recipe, "epoch": epoch, "data": data,
                "train_seconds": round(time.perf_counter() - started, 1),
            })
            model.max_seq_length = args.max_seq_length
    logger.info("done in %.0f s; model in %s (set DAOBAN_E5_MODEL_DIR=%s)", time.perf_counter() - started, out, out)


def save(model, target: Path, full_length: int | None, marker: dict) -> None:
    from index.embedder import model_fingerprint

    model.eval()
    model.max_seq_length = full_length  # documents (summaries) are longer than the training pairs
    model.save(str(target), create_model_card=False)
    (target / MARKER).write_text(json.dumps(marker, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    logger.info("saved %s (fingerprint %s)", target, model_fingerprint(target))


# ---- calibration with a grid wide enough for a fine-tuned model ------------

WIDE_GRID = {
    "reject_below": tuple(round(0.30 + 0.01 * i, 2) for i in range(64)),  # 0.30 .. 0.93
    "floor_above": (0.01, 0.02, 0.04, 0.07),  # lexical_floor = reject_below + this
    "answer_margin": (0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.08),
    "agreed_margin": (0.0, 0.002, 0.004, 0.006, 0.01, 0.02, 0.04),
}
SPARSE_WEIGHTS = (0.0, 0.025, 0.05, 0.1, 0.2)


@contextlib.contextmanager
def isolated_cache(model_dir: Path | None) -> Iterator[Path]:
    """DAOBAN_CACHE_DIR pointed at a throw-away copy of the embedding cache and jieba's,
    and DAOBAN_E5_MODEL_DIR at ``model_dir`` (the base model when None)."""
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
        os.environ["DAOBAN_E5_MODEL_DIR"] = str((model_dir or settings.embedding_model_dir).resolve())
        try:
            yield cache
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def refuse(ranking, weight: float):
    """The ranking's candidates fused again with another ``sparse_weight``."""
    from index.decision import DecisionPolicy, PooledScores, fuse
    from index.engine import Ranking

    present = sum(1 for c in ranking.candidates if c.dense != 0.0)
    # inserted in the original rank order: ``fuse`` ranks equal scores in insertion order
    by_dense = sorted((c for c in ranking.candidates if c.dense_rank <= present), key=lambda c: c.dense_rank)
    by_sparse = sorted((c for c in ranking.candidates if c.sparse_rank is not None), key=lambda c: c.sparse_rank)
    pooled = PooledScores(
        dense={c.code: c.dense for c in by_dense}, sparse={c.code: c.sparse for c in by_sparse},
        matched={c.code: c.matched for c in ranking.candidates},
    )
    names = {c.code: (c.kind, c.name) for c in ranking.candidates}
    return Ranking(ranking.text, fuse(pooled, names, DecisionPolicy(sparse_weight=weight)), ranking.revision, 0.0)


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


def policies(base, weight: float):
    for reject, above, answer, agreed in itertools.product(*WIDE_GRID.values()):
        yield replace(base, sparse_weight=weight, reject_below=reject, lexical_floor=round(min(reject + above, 0.99), 3),
                      answer_margin=answer, agreed_margin=agreed)


def calibrate(args: argparse.Namespace) -> None:
    from bench.calibrate import outcome
    from bench.report import table
    from bench.retrieval import build_engine, load_questions
    from index.decision import DecisionPolicy

    model_dir = (Path(args.base) if args.base else None) if args.calibrate == "base" else Path(args.calibrate)
    questions = load_questions()
    dev = [q for q in questions if q.split == "dev"]
    test = [q for q in questions if q.split == "test"]
    with isolated_cache(model_dir), tempfile.TemporaryDirectory(prefix="daoban-ft-") as home:
        engine, build_s = build_engine(Path(home))
        print(f"model {os.environ['DAOBAN_E5_MODEL_DIR']} (index build {build_s:.1f} s)")  # noqa: T201
        shipped = DecisionPolicy()
        ranked = {w: [] for w in SPARSE_WEIGHTS}
        for question in dev:
            ranking = engine.rank(question.text)
            for weight in SPARSE_WEIGHTS:
                ranked[weight].append((question, prune(refuse(ranking, weight))))
        dense = [(q, engine.rank(q.text, mode="dense")) for q in dev]
        rows = [["dense", *(f"{v:.3f}" for v in rank_metrics(dense).values())]]
        rows += [[f"hybrid, sparse_weight {w}", *(f"{v:.3f}" for v in rank_metrics(ranked[w]).values())]
                 for w in SPARSE_WEIGHTS]
        print("\ndev ranking (in-scope questions, top 10):\n")  # noqa: T201
        print(table(["ranking", "recall@1", "recall@5", "MRR"], rows))  # noqa: T201

        best = []
        for weight in (SPARSE_WEIGHTS if args.sweep_weight else (shipped.sparse_weight,)):
            for policy in policies(shipped, weight):
                result = outcome(engine, ranked[weight], policy)
                if result["wrong"] <= args.max_wrong and result["oos_answered"] <= args.max_oos:
                    best.append((policy, result))
        best.sort(key=lambda r: (-r[1]["right"], -r[1]["oos_rejected"], -r[1]["offered"]))
        fields = ("sparse_weight", "reject_below", "lexical_floor", "answer_margin", "agreed_margin")
        current = outcome(engine, ranked[shipped.sparse_weight], shipped)
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
                    [f"hybrid, sparse_weight {shipped.sparse_weight}",
                     *(f"{v:.3f}" for v in rank_metrics(ranked_test).values())]]
            chosen_test = ranked_test
            if chosen.sparse_weight != shipped.sparse_weight:
                chosen_test = [(q, prune(refuse(engine.rank(q.text), chosen.sparse_weight))) for q in test]
                rows.append([f"hybrid, sparse_weight {chosen.sparse_weight}",
                             *(f"{v:.3f}" for v in rank_metrics(chosen_test).values())])
            print("\ntest ranking (in-scope questions, top 10):\n")  # noqa: T201
            print(table(["ranking", "recall@1", "recall@5", "MRR"], rows))  # noqa: T201
            body = [["shipped", *(getattr(shipped, k) for k in fields),
                     *(f"{v:.3f}" for v in outcome(engine, ranked_test, shipped).values())],
                    ["chosen on dev", *(getattr(chosen, k) for k in fields),
                     *(f"{v:.3f}" for v in outcome(engine, chosen_test, chosen).values())]]
            print("\ntest decisions:\n")  # noqa: T201
            print(table(["", *fields, *current], body))  # noqa: T201


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--out", help="train: folder for the fine-tuned model")
    mode.add_argument("--calibrate", metavar="MODEL_DIR", help="rank dev with this model ('base' for the converted "
                      "one) and search a wide threshold grid")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--scale", type=float, default=20.0, help="MNRL's inverse temperature")
    parser.add_argument("--max-seq-length", type=int, default=64, help="while training; the saved model keeps its own")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--checkpoints", action="store_true", help="also save every earlier epoch to OUT/epoch-N")
    parser.add_argument("--from-store", action="store_true",
                        help="train on the published records of the configured store, not the seed files")
    parser.add_argument("--base", help="model to start from (default: the converted e5 of the settings)")
    parser.add_argument("--max-wrong", type=float, default=0.03)
    parser.add_argument("--max-oos", type=float, default=0.035)
    parser.add_argument("--sweep-weight", action="store_true", help="also search sparse_weight when calibrating")
    parser.add_argument("--test", action="store_true", help="after calibrating, score the test split once")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("sentence_transformers", "transformers", "jieba", "httpx", "index", "knowledge", "daoban", "alembic",
                  "faiss"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.out:
        train(args)
    else:
        calibrate(args)


if __name__ == "__main__":
    main()
