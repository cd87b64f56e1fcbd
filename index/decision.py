"""Fusing the two rankings and deciding whether to answer, suggest or refuse.

Fusion adds to each record's best dense cosine its best BM25 score over the
question's best BM25 score, times ``sparse_weight``, and its second-best
cosine times ``support_weight``: a question close to two of a record's
phrasings is better evidence for it than one close to a single phrasing, and
this settles most near-duplicate pairs (户口迁入/迁出, 分户登记/结婚登记) where
one lucky alias of the wrong record edges ahead. The untuned e5 keeps
``support_weight`` 0: it was measured only for the fine-tuned model. Unlike reciprocal-rank
fusion it keeps how far apart the scores are: a record well ahead on the dense
side stays ahead unless BM25 clearly prefers another, and BM25 breaks the many
near ties of e5's cosines. ``sparse_weight`` 0.025 is where leave-one-out
retrieval of the knowledge base's own aliases and similar questions (each
searched with its own document masked) and the dev split agreed: recall@1
0.737 on the base's own phrasings and 0.823 on dev, against 0.690 and 0.776
with BM25 left out and 0.789 on dev with RRF. RRF stays selectable
(``fusion="rrf"``) for comparison.

e5 cosines of unrelated Chinese sentences still sit around 0.75-0.85, so one raw
threshold can't tell "in scope" from "out of scope". The decision therefore looks
at agreement between the sparse and dense rankings and at the margin between the
first and second record, with a floor on the best dense score for rejection.
The numbers were chosen with ``python -m bench.calibrate`` on the dev split of
bench/questions (never on test): at most 3% wrong answers and ~3% out-of-scope
questions answered, then as many right answers and refusals of nonsense as the
grid allows. Re-chosen when score fusion replaced RRF (2026-11-22): the old
values then answered 6.5% of dev's out-of-scope questions; these answer 3.2%
and reject 87% of them, with 60% of in-scope questions answered right (48.5%
before) and 2.5% wrongly.

These defaults belong to the untuned e5. The model set-up fine-tunes
(``index.finetune``) scores far lower and has its own weights and thresholds
(``index.finetune.SHIPPED_POLICY``); ``index.runtime.policy_for`` hands a
model's to the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Decision = Literal["answer", "suggest", "reject"]
Fusion = Literal["score", "rrf"]


@dataclass(frozen=True)
class Candidate:
    code: str
    kind: str
    name: str
    score: float
    dense: float
    sparse: float
    dense_rank: int
    sparse_rank: int | None
    matched: str
    support: float = 0.0


@dataclass(frozen=True)
class DecisionPolicy:
    fusion: Fusion = "score"
    sparse_weight: float = 0.025
    support_weight: float = 0.0
    rrf_k: int = 60
    reject_below: float = 0.895
    lexical_floor: float = 0.91
    answer_margin: float = 0.01
    agreed_margin: float = 0.006
    sparse_ratio: float = 0.8
    suggest_window: float = 0.03
    max_suggestions: int = 4
    bundle_window: float = 0.03  # a bundle this close to the best cosine is what a whole-event question means
    # a record first on both sides is not refused unless its cosine falls below this (None: reject_below):
    # a base without aliases is found by its official wording, and BM25 agreeing is the evidence
    agreed_floor: float | None = None
    # between this cosine and the refusal floor, a record BM25 also ranks in its first ``doubt_sparse_rank`` is
    # offered with the next ones instead of refused (None: no such zone): a citizen's story ("俺俩下个月想去领
    # 结婚证 都得带啥啊") dilutes the cosine of the right guide, and asking is better than declining
    doubt_below: float | None = None
    doubt_sparse_rank: int = 5
    doubt_shown: int = 3

    def __post_init__(self) -> None:
        if self.fusion not in ("score", "rrf"):
            raise ValueError(f"fusion must be score or rrf, got {self.fusion!r}")
        if self.sparse_weight < 0:
            raise ValueError(f"sparse_weight must be >= 0, got {self.sparse_weight}")
        if not 0 <= self.support_weight <= 1:
            raise ValueError(f"support_weight must be in [0, 1], got {self.support_weight}")
        if self.rrf_k <= 0:
            raise ValueError(f"rrf_k must be > 0, got {self.rrf_k}")
        if not 0 < self.reject_below < 1:
            raise ValueError(f"reject_below must be in (0, 1), got {self.reject_below}")
        if self.bundle_window < 0:
            raise ValueError(f"bundle_window must be >= 0, got {self.bundle_window}")
        if self.max_suggestions < 2:
            raise ValueError(f"max_suggestions must be >= 2, got {self.max_suggestions}")
        if self.doubt_below is not None and not 0 < self.doubt_below <= self.reject_below:
            raise ValueError(f"doubt_below must be in (0, reject_below], got {self.doubt_below}")
        if self.doubt_sparse_rank < 1 or self.doubt_shown < 2:
            raise ValueError("doubt_sparse_rank must be >= 1 and doubt_shown >= 2")


@dataclass(frozen=True)
class PooledScores:
    """Best score per record on each side, with the text that earned the dense one;
    ``support`` is a record's second-best cosine, when a second of its documents was fetched."""

    dense: dict[str, float] = field(default_factory=dict)
    support: dict[str, float] = field(default_factory=dict)
    sparse: dict[str, float] = field(default_factory=dict)
    matched: dict[str, str] = field(default_factory=dict)


def fuse(pooled: PooledScores, names: dict[str, tuple[str, str]], policy: DecisionPolicy) -> list[Candidate]:
    """The per-record rankings fused into one, best first (see the module's docstring)."""
    dense_order = sorted(pooled.dense, key=lambda c: -pooled.dense[c])
    sparse_order = sorted((c for c in pooled.sparse if pooled.sparse[c] > 0), key=lambda c: -pooled.sparse[c])
    dense_rank = {c: i + 1 for i, c in enumerate(dense_order)}
    sparse_rank = {c: i + 1 for i, c in enumerate(sparse_order)}
    codes = set(dense_rank) | set(sparse_rank)
    best_sparse = pooled.sparse[sparse_order[0]] if sparse_order else 1.0
    # a record past the dense side's depth scores at most the last cosine fetched, not 0
    dense_floor = pooled.dense[dense_order[-1]] if dense_order else 0.0
    candidates = []
    for code in codes:
        if code not in names:
            continue
        d_rank = dense_rank.get(code, len(dense_order) + 1)
        s_rank = sparse_rank.get(code)
        if policy.fusion == "rrf":
            score = 1.0 / (policy.rrf_k + d_rank) + (1.0 / (policy.rrf_k + s_rank) if s_rank else 0.0)
        else:
            sparse = pooled.sparse[code] / best_sparse if s_rank else 0.0
            score = (pooled.dense.get(code, dense_floor) + policy.support_weight * pooled.support.get(code, 0.0)
                     + policy.sparse_weight * sparse)
        kind, name = names[code]
        candidates.append(
            Candidate(
                code=code, kind=kind, name=name, score=score,
                dense=pooled.dense.get(code, 0.0), sparse=pooled.sparse.get(code, 0.0),
                dense_rank=d_rank, sparse_rank=s_rank, matched=pooled.matched.get(code, ""),
                support=pooled.support.get(code, 0.0),
            )
        )
    candidates.sort(key=lambda c: (-c.score, -c.dense, c.code))
    return candidates


def decide(candidates: list[Candidate], policy: DecisionPolicy) -> tuple[Decision, list[Candidate]]:
    """Return the decision and the candidates the citizen should see for it.

    Answer only when the top record leads clearly: first on the dense side by a
    margin, or first on both sides with a smaller margin or the sparse runner-up
    well behind. Records neck and neck become a question instead, and so does a
    record just below the refusal floor that BM25 also finds (``doubt_below``).
    """
    if not candidates:
        return "reject", []
    top = candidates[0]
    best_dense = max(c.dense for c in candidates)
    both_first = top.sparse_rank == 1 and top.dense_rank == 1
    floor = policy.reject_below
    if both_first and policy.agreed_floor is not None:
        floor = min(floor, policy.agreed_floor)
    if best_dense < floor or (top.sparse_rank is None and best_dense < policy.lexical_floor):
        doubtful = (policy.doubt_below is not None and best_dense >= policy.doubt_below
                    and top.sparse_rank is not None and top.sparse_rank <= policy.doubt_sparse_rank)
        return ("suggest", candidates[: policy.doubt_shown]) if doubtful else ("reject", [])
    rest = candidates[1:]
    dense_margin = top.dense - max((c.dense for c in rest), default=0.0)
    sparse_runner_up = max((c.sparse for c in rest), default=0.0)
    sparse_clear = top.sparse > 0 and sparse_runner_up <= policy.sparse_ratio * top.sparse
    agreed = top.sparse_rank == 1 and (sparse_clear or dense_margin >= policy.agreed_margin)
    if top.dense_rank == 1 and (dense_margin >= policy.answer_margin or agreed):
        return "answer", [top]
    close = [c for c in candidates if top.dense - c.dense <= policy.suggest_window or c.sparse_rank == 1]
    close = sorted(close, key=lambda c: -c.score)[: policy.max_suggestions]
    if len(close) < 2:
        return "answer", [top]
    return "suggest", close
