"""BM25 over jieba tokens (bm25s). Rebuilt whole on change.

Documents are turned into token ids one at a time while they are tokenized and
handed to bm25s as a ``Tokenized`` corpus: holding every document's tokens as
Python strings first would cost ~60 bytes a token (gigabytes for a base of a
million items), while ids taken from the vocabulary dict share one int object
each. The scores are the same as indexing the token lists directly.
"""

from __future__ import annotations

from collections.abc import Iterable

import bm25s
import numpy as np
from bm25s.tokenization import Tokenized

from index.tokens import ChineseTokenizer

EMPTY_DOC_TOKEN = "\u0000"  # a document without tokens still needs one, or bm25s skips a row


class SparseIndex:
    def __init__(self, tokenizer: ChineseTokenizer, texts: Iterable[str], k1: float = 1.2, b: float = 0.75):
        self._tokenizer = tokenizer
        self._bm25 = bm25s.BM25(k1=k1, b=b)
        vocab: dict[str, int] = {}
        ids: list[list[int]] = []
        for text in texts:
            tokens = tokenizer.tokens(text) or [EMPTY_DOC_TOKEN]
            ids.append([vocab.setdefault(token, len(vocab)) for token in tokens])
        self._size = len(ids)
        if ids:
            self._bm25.index(Tokenized(ids=ids, vocab=vocab), show_progress=False)

    @property
    def size(self) -> int:
        return self._size

    def scores(self, query: str) -> np.ndarray:
        """One score per document, in document order."""
        tokens = self._tokenizer.tokens(query)
        if not tokens or not self._size:
            return np.zeros(self._size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)
