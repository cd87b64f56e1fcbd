"""BM25 over jieba tokens (bm25s).

Documents are turned into token ids one at a time while they are tokenized and
handed to bm25s as a ``Tokenized`` corpus: holding every document's tokens as
Python strings first would cost ~60 bytes a token (gigabytes for a base of a
million items), while ids taken from the vocabulary dict share one int object
each. The scores are the same as indexing the token lists directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import bm25s
import numpy as np
from bm25s.tokenization import Tokenized

from index.tokens import ChineseTokenizer

EMPTY_DOC_TOKEN = "\u0000"  # a document without tokens still needs one, or bm25s skips a row


class SparseIndex:
    """BM25 over a tokenized corpus; keeps each document's token ids so that an
    edit re-tokenises only its own documents (``updated``), not the whole base."""

    def __init__(self, tokenizer: ChineseTokenizer, texts: Iterable[str], k1: float = 1.2, b: float = 0.75):
        self._tokenizer = tokenizer
        self._k1, self._b = k1, b
        self._vocab: dict[str, int] = {}
        self._ids: list[list[int]] = [self._token_ids(text) for text in texts]
        self._index()

    def updated(self, keep: Sequence[int], texts: Iterable[str]) -> "SparseIndex":
        """A new index over the kept documents, in their order, followed by ``texts``.

        Kept documents keep the tokens they were indexed with, even if words learnt
        since would segment them differently; a full build (``daoban index build``)
        re-tokenises everything.
        """
        fresh = SparseIndex.__new__(SparseIndex)
        fresh._tokenizer, fresh._k1, fresh._b = self._tokenizer, self._k1, self._b
        fresh._vocab = dict(self._vocab)
        fresh._ids = [self._ids[i] for i in keep]
        fresh._ids.extend(fresh._token_ids(text) for text in texts)
        fresh._index()
        return fresh

    def _token_ids(self, text: str) -> list[int]:
        tokens = self._tokenizer.tokens(text) or [EMPTY_DOC_TOKEN]
        return [self._vocab.setdefault(token, len(self._vocab)) for token in tokens]

    def _index(self) -> None:
        self._bm25 = bm25s.BM25(k1=self._k1, b=self._b)
        self._size = len(self._ids)
        if self._ids:
            self._bm25.index(Tokenized(ids=self._ids, vocab=self._vocab), show_progress=False)

    def words(self) -> list[str]:
        """The words documents were indexed with (bigram and pinyin tokens left out)."""
        return [token for token in self._vocab if "#" not in token and token != EMPTY_DOC_TOKEN]

    @property
    def size(self) -> int:
        return self._size

    def scores(self, query: str) -> np.ndarray:
        """One score per document, in document order."""
        tokens = self._tokenizer.tokens(query)
        if not tokens or not self._size:
            return np.zeros(self._size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)
