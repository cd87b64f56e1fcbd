"""The retrieval engine every channel and action asks: which record does this question mean?

It keeps the published records it indexed, so an answer is composed from the
exact record version that was retrieved, and it follows the knowledge base's
``revision``: ``sync`` applies only what changed since it last looked.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from index.context import ContextRules
from index.decision import Candidate, Decision, DecisionPolicy, PooledScores, decide, fuse
from index.dense import DenseIndex, vector_dtype
from index.documents import SearchDoc, documents_for, kb_user_words
from index.embedder import Embedder
from index.errors import BadQuery
from index.families import Families, Named, family_of
from index.lexicon import Lexicon
from index.locality import Locality, home_names
from index.passages import Found, GuideSearch, passages_of
from index.sparse import SparseIndex
from index.spelling import QueryRewriter, Rewrite
from index.tokens import ChineseTokenizer, default_stop_words
from index.wording import WordReader, normalise
from knowledge.schema import CrossProvinceEntry, Item, Record
from knowledge.store import Changes, KnowledgeStore

logger = logging.getLogger(__name__)

PASSAGE, QUERY = "passage", "query"
MAX_QUERY_CHARS = 2000
BARE_TERM_MAX_CHARS = 6
DENSE_DEPTH = 256  # documents fetched per query before pooling them per record
# Sparse side: only the best documents are pooled, and only the best records kept. A
# record past rank SPARSE_RECORDS trails 511 records on BM25 and needs a dense lead over
# all of them to be shown, which the dense side finds alone; pooling every document with a nonzero BM25
# score instead costs seconds on a base of millions. Bases smaller than these depths
# (the demo base has ~2,300 documents) are pooled whole, exactly as before.
RECENT_QUERIES = 64  # questions of the last few turns, encoded once
SPARSE_DOCS = 4096
SPARSE_RECORDS = 512
_BARE_TERM_STRIP = re.compile(r"[\s\W_]+")


Mode = Literal["hybrid", "sparse", "dense"]


@dataclass(frozen=True)
class Ranking:
    """``text`` is what was searched: the question with its slips corrected (``corrections``)."""

    text: str
    candidates: list[Candidate]
    revision: int
    encode_ms: float
    corrections: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SearchResult:
    query: str
    decision: Decision
    candidates: list[Candidate]
    shown: list[Candidate]
    revision: int
    encode_ms: float = 0.0
    search_ms: float = 0.0
    corrections: tuple[tuple[str, str], ...] = ()


class RetrievalEngine:
    def __init__(self, embedder: Embedder, policy: DecisionPolicy | None = None, jieba_cache: Path | None = None):
        self._embedder = embedder
        self._policy = policy or DecisionPolicy()
        self._jieba_cache = jieba_cache
        self._lock = threading.RLock()
        self._records: dict[str, Record] = {}
        self._names: dict[str, tuple[str, str]] = {}
        self._twins: dict[str, str] = {}
        self._twin_cues: dict[str, frozenset[str]] = {}
        self._context = ContextRules()
        self._examples: list[str] | None = None
        self._locality = Locality(())
        self.words = WordReader(Lexicon.load(), default_stop_words())
        self._families = Families(self.words)
        self._guide_search = GuideSearch(self.content_words, self.words.lexicon, self._encode)
        self._recent_queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._docs: list[SearchDoc] = []
        self._vectors = np.zeros((0, embedder.dim), dtype=np.float32)
        self._dense = DenseIndex(np.zeros((0, embedder.dim), dtype=np.float32), embedder.dim)
        self._tokenizer: ChineseTokenizer | None = None
        self._sparse: SparseIndex | None = None
        self._rewriter: QueryRewriter | None = None
        self.revision = 0
        self.kb_hash = ""
        self.build_seconds: dict[str, float] = {}  # phases of the last load/apply, for logs and bench/scale.py

    # ---- state -------------------------------------------------------------

    @property
    def model_id(self) -> str:
        return self._embedder.model_id

    @property
    def policy(self) -> DecisionPolicy:
        return self._policy

    @property
    def documents(self) -> list[SearchDoc]:
        return list(self._docs)

    @property
    def vectors(self) -> np.ndarray:
        return self._vectors

    def record(self, code: str) -> Record | None:
        return self._records.get(code)

    def records(self) -> list[Record]:
        return list(self._records.values())

    def cross_province_for(self, item_code: str) -> str | None:
        """The 跨省通办 entry of a local item, when the city lists one."""
        with self._lock:
            return self._twins.get(item_code)

    # ---- building ----------------------------------------------------------

    def load(self, records: Iterable[Record], revision: int, kb_hash: str,
             docs: list[SearchDoc] | None = None, vectors: np.ndarray | None = None) -> None:
        """Index ``records`` from scratch; ``docs``/``vectors`` reuse a saved index's embeddings."""
        with self._lock:
            phases = _Phases()
            self._records = {r.code: r for r in records}
            if docs is None or vectors is None:
                docs = [d for r in self._records.values() for d in documents_for(r)]
                phases.mark("documents")
                vectors = self._embed_docs(docs)
                phases.mark("embedding")
            self._docs, self._vectors = docs, np.asarray(vectors, dtype=vector_dtype(len(docs)))
            self._tokenizer = ChineseTokenizer(kb_user_words(list(self._records.values())), cache_dir=self._jieba_cache)
            phases.mark("tokenizer")
            self._rebuild_search_structures(phases)
            self.revision, self.kb_hash = revision, kb_hash
            self.build_seconds = phases.seconds
        logger.info("indexed %d records as %d documents (revision %d) in %s", len(self._records), len(self._docs),
                    revision, phases)

    def apply(self, changes: Changes, kb_hash: str) -> None:
        """Re-index only the records that changed; the others keep their vectors."""
        with self._lock:
            touched = {r.code for r in changes.upserted} | set(changes.removed)
            if not touched:
                self.revision, self.kb_hash = changes.revision, kb_hash
                return
            keep = [i for i, d in enumerate(self._docs) if d.code not in touched]
            for code in changes.removed:
                self._records.pop(code, None)
            new_docs: list[SearchDoc] = []
            for record in changes.upserted:
                self._records[record.code] = record
                new_docs.extend(documents_for(record))
            new_vectors = self._embed_docs(new_docs)
            self._docs = [self._docs[i] for i in keep] + new_docs
            self._vectors = np.vstack([self._vectors[keep], new_vectors]).astype(vector_dtype(len(self._docs)))
            assert self._tokenizer is not None and self._sparse is not None
            self._tokenizer.add_words(kb_user_words(changes.upserted))
            phases = _Phases()
            self._rebuild_search_structures(phases, self._sparse.updated(keep, [d.text for d in new_docs]))
            self.build_seconds = phases.seconds
            self.revision, self.kb_hash = changes.revision, kb_hash
        logger.info("applied revision %d: %d record(s) re-indexed, %d removed",
                    changes.revision, len(changes.upserted), len(changes.removed))

    def sync(self, store: KnowledgeStore) -> bool:
        """Catch up with the store; True when something was applied."""
        current = store.revision()
        if current == self.revision:
            return False
        self.apply(store.changes_since(self.revision), store.content_hash())
        return True

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        """The embedder's vectors; one question is encoded once per turn however often it is searched (the
        base, the guide in context, the choices on offer), documents go to the embedder's own cache."""
        if prompt != QUERY or len(texts) != 1:
            return self._embedder.encode(texts, prompt)
        with self._lock:
            vector = self._recent_queries.get(texts[0])
            if vector is not None:
                self._recent_queries.move_to_end(texts[0])
                return vector
        vector = self._embedder.encode(texts, prompt)
        with self._lock:
            self._recent_queries[texts[0]] = vector
            while len(self._recent_queries) > RECENT_QUERIES:
                self._recent_queries.popitem(last=False)
        return vector

    def _embed_docs(self, docs: list[SearchDoc]) -> np.ndarray:
        if not docs:
            return np.zeros((0, self._embedder.dim), dtype=np.float32)
        return self._embedder.encode([d.text for d in docs], PASSAGE)

    def _rebuild_search_structures(self, phases: _Phases, sparse: SparseIndex | None = None) -> None:
        """Derived lookups, BM25 and the dense index; ``sparse`` is an index already updated
        for an edit, so only the edited documents were tokenised."""
        self._names = {code: (r.kind, r.name) for code, r in self._records.items()}
        self._examples = None
        home = home_names(self._records.values())
        self._locality = Locality(home)
        self._context = ContextRules(home)
        self._twins = {
            r.item_code: r.code for r in self._records.values()
            if isinstance(r, CrossProvinceEntry) and r.item_code in self._records
        }
        # away-from-home words a twin's local guide is about itself ("迁往省外", "香港、澳门")
        self._twin_cues = {code: self._context.elsewhere_cues(_guide_text(self._records[code])) for code in self._twins}
        self._doc_codes = np.array([d.code for d in self._docs], dtype=object)
        phases.mark("records")
        assert self._tokenizer is not None
        self._sparse = sparse or SparseIndex(self._tokenizer, (d.text for d in self._docs))
        phases.mark("bm25")
        if self._rewriter is None or sparse is None:
            self._rewriter = QueryRewriter(self._tokenizer.user_words, self._sparse.words(), self._tokenizer.word_weight)
        else:
            self._rewriter.extend(self._tokenizer.user_words, self._sparse.words())
        phases.mark("spelling")
        self._dense = DenseIndex(self._vectors, self._embedder.dim)
        phases.mark("dense")

    # ---- searching ---------------------------------------------------------

    def search(self, query: str, top_k: int = 5, mode: Mode = "hybrid") -> SearchResult:
        """Rank records for a question and decide; ``mode`` lets benchmarks measure each side alone."""
        if not 1 <= top_k <= 50:
            raise BadQuery(f"top_k must be between 1 and 50, got {top_k}")
        started = time.perf_counter()
        ranking = self.rank(query, mode)
        decision, shown = self.decide(ranking)
        total_ms = (time.perf_counter() - started) * 1000
        return SearchResult(
            query=ranking.text, decision=decision, candidates=ranking.candidates[:top_k], shown=shown,
            revision=ranking.revision, encode_ms=ranking.encode_ms, search_ms=total_ms - ranking.encode_ms,
            corrections=ranking.corrections,
        )

    def rank(self, query: str, mode: Mode = "hybrid") -> Ranking:
        """Every candidate record, fused and ordered, before any decision is taken."""
        if mode not in ("hybrid", "sparse", "dense"):
            raise BadQuery(f"mode must be hybrid, sparse or dense, got {mode!r}")
        rewrite = self._rewrite(query)
        text = rewrite.text
        started = time.perf_counter()
        query_vector = self._encode([text], QUERY) if mode != "sparse" else None
        encode_ms = (time.perf_counter() - started) * 1000
        with self._lock:
            pooled = self._context.apply(text, self._pooled_scores(text, query_vector, mode), self._names, self._twins,
                                         self._twin_cues, bundle_window=self._policy.bundle_window)
            names = self._names
            revision = self.revision
        return Ranking(text=text, candidates=fuse(pooled, names, self._policy), revision=revision, encode_ms=encode_ms,
                       corrections=rewrite.replaced)

    def rewrite(self, query: str) -> str:
        """The text ``rank`` searches for ``query``: its slips read as the base's terms."""
        return self._rewrite(query).text

    def _rewrite(self, query: str) -> Rewrite:
        asked = " ".join(query.split())[:MAX_QUERY_CHARS]
        if not asked:
            raise BadQuery("the question is empty")
        with self._lock:
            return self._rewriter.rewrite(asked) if self._rewriter is not None else Rewrite(asked)

    def decide(self, ranking: Ranking, policy: DecisionPolicy | None = None) -> tuple[Decision, list[Candidate]]:
        """Answer, suggest or reject; ``policy`` lets calibration try thresholds on one ranking."""
        policy = policy or self._policy
        decision, shown = decide(ranking.candidates, policy)
        if decision == "answer":
            named = self._records_naming(ranking.text, ranking.candidates[: policy.max_suggestions])
            if len(named) >= 2:
                decision, shown = "suggest", named
        if decision in ("answer", "suggest") and ranking.candidates:
            family = self._family_decision(ranking)
            if family is not None:
                decision, shown = family
        return decision, shown

    def _family_decision(self, ranking: Ranking) -> tuple[Decision, list[Candidate]] | None:
        """The first record's family read against the question (``index.families``): the member its words
        name, or the members to ask about; None when the family has nothing to say."""
        top = ranking.candidates[0]
        record = self._records.get(top.code)
        if record is None:
            return None
        asked = normalise(ranking.text)
        own = (normalise(p) for p in (*record.aliases, *record.questions))
        matched_own = any(len(p) >= 4 and p in asked for p in own)
        window = ranking.candidates[:12]
        reading = self._families.read(ranking.text, [Named(c.code, c.name, c.score) for c in window], matched_own,
                                      self._locality)
        if reading is None:
            return None
        if reading.chosen is not None:
            return "answer", [c for c in window if c.code == reading.chosen.code]
        members = {n.code for n in reading.ask}
        return "suggest", [c for c in window if c.code in members]

    def closeness(self, question: str, labels: list[str]) -> list[float]:
        """Cosine of ``question`` (as a query) to each label (as a passage): for reading a reply against choices."""
        if not labels:
            return []
        query = self._encode([self._rewrite(question).text], QUERY)
        passages = self._encode(labels, PASSAGE)
        return [float(v) for v in (passages @ query[0])]

    def passages(self, code: str, question: str) -> list[Found]:
        """The sentences of one guide that answer ``question``, best first; [] when the guide says nothing of it."""
        record = self._records.get(code)
        if record is None:
            return []
        return self._guide_search.search(self._rewrite(question).text, passages_of(record), ignore=record.name)

    def content_words(self, text: str) -> list[str]:
        """The words of ``text`` that carry meaning (no stop words, no glued fillers)."""
        assert self._tokenizer is not None
        return self._tokenizer.content_words(text)

    def example_names(self, count: int) -> list[str]:
        """Names of a few items of this base, for "例如…" hints: short ones of different domains, stable."""
        with self._lock:
            if self._examples is None:
                shortest: dict[str, Item] = {}
                for record in self._records.values():
                    if isinstance(record, Item):
                        held = shortest.get(record.domain)
                        if held is None or (len(record.name), record.code) < (len(held.name), held.code):
                            shortest[record.domain] = record
                self._examples = [r.name for r in sorted(shortest.values(), key=lambda r: (len(r.name), r.code))]
            return self._examples[:count]

    def family(self, code: str, limit: int = 8) -> list[Record]:
        """Records whose names share a stem with ``code``'s (居民身份证补领 for 居民身份证首次申领), best match first;
        found through BM25 over the name, so it costs no embedding and no scan of the base."""
        record = self._records.get(code)
        if record is None:
            return []
        with self._lock:
            assert self._sparse is not None
            scores = self._sparse.scores(record.name)
            pooled: dict[str, float] = {}
            self._pool_sparse(scores, pooled)
            names = self._names
        ranked = sorted(pooled, key=lambda c: -pooled[c])[:50]
        # a 跨省通办 entry shares its item's name: it is the same thing done elsewhere, not another member
        others = [Named(c, names[c][1]) for c in ranked if c in names and names[c][0] != "cross_province"]
        members = family_of(Named(code, record.name), others)
        return [r for m in members[:limit] if (r := self._records.get(m.code)) is not None]

    def has_content(self, text: str) -> bool:
        """False for questions made only of aspect and filler words ("那要多久？"):
        they refer to the item already under discussion, not to a new one."""
        assert self._tokenizer is not None
        return any(not token.endswith("#2") for token in self._tokenizer.tokens(text))

    def _records_naming(self, text: str, candidates: list[Candidate]) -> list[Candidate]:
        """Candidates whose name or alias contains a bare query like "社保卡" or "护照".

        A citizen who names only a thing, not what to do with it, could mean any
        of the items about that thing (申领? 补换?): a clerk asks, so do we.
        """
        term = _BARE_TERM_STRIP.sub("", text)
        if not term or len(term) > BARE_TERM_MAX_CHARS:
            return []
        named = []
        for candidate in candidates:
            record = self._records.get(candidate.code)
            if record is not None and any(term in label for label in (record.name, *record.aliases)):
                named.append(candidate)
        return named

    def _pooled_scores(self, text: str, query_vector: np.ndarray | None, mode: Mode) -> PooledScores:
        pooled = PooledScores()
        if not self._docs:
            return pooled
        if query_vector is not None:
            scores, ids = self._dense.search(query_vector, DENSE_DEPTH)
            for score, doc_index in zip(scores[0], ids[0]):
                if doc_index < 0:
                    continue
                doc, score = self._docs[doc_index], float(score)
                best = pooled.dense.get(doc.code)
                if best is None or score > best:
                    if best is not None:
                        pooled.support[doc.code] = best
                    pooled.dense[doc.code] = score
                    pooled.matched[doc.code] = doc.text
                elif score > pooled.support.get(doc.code, -1.0):
                    pooled.support[doc.code] = score
        if mode != "dense":
            assert self._sparse is not None
            # BM25 also looks for the guides' words for the citizen's (户口薄丢了 → 居民户口簿, 补领 …): a base without
            # aliases has only its official wording to be found by
            self._pool_sparse(self._sparse.scores(self.words.lexicon.expand(text)), pooled.sparse)
        return pooled

    def _pool_sparse(self, scores: np.ndarray, into: dict[str, float]) -> None:
        """Best BM25 score per record, over the SPARSE_DOCS best documents, keeping SPARSE_RECORDS records."""
        hits = np.flatnonzero(scores)
        if len(hits) > SPARSE_DOCS:
            hits = hits[np.argpartition(scores[hits], -SPARSE_DOCS)[-SPARSE_DOCS:]]
        hits = hits[np.argsort(-scores[hits], kind="stable")]  # best first, so a record's first hit is its best
        codes, first = np.unique(self._doc_codes[hits], return_index=True)
        if len(codes) > SPARSE_RECORDS:
            first = np.sort(first)[:SPARSE_RECORDS]
        # insert in document order, as pooling every document did: ``fuse`` breaks ties by it
        for at in first[np.argsort(hits[first], kind="stable")]:
            into[self._doc_codes[hits[at]]] = float(scores[hits[at]])


def _guide_text(record: Record) -> str:
    """What a record says it is about: name, aliases, similar questions and summary."""
    summary = record.summary if isinstance(record, Item) else ""
    return "\n".join([record.name, *record.aliases, *record.questions, summary])


class _Phases:
    """Wall time of each build phase, so a slow rebuild says where its time went."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def mark(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[phase] = round(self.seconds.get(phase, 0.0) + now - self._last, 3)
        self._last = now

    def __str__(self) -> str:
        return ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items())
