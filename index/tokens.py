"""Chinese tokens for BM25, from a jieba tokenizer this object owns.

``jieba.load_userdict`` changes the whole process; an owned ``jieba.Tokenizer``
lets each index carry the words of its own knowledge base (item names, aliases,
material names) plus the maintained domain list, without touching anyone else.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

import jieba
from pypinyin import lazy_pinyin

logger = logging.getLogger(__name__)

WORDS_DIR = Path(__file__).resolve().parent / "words"
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_WORD = re.compile(r"[\w\u4e00-\u9fff]+")
# jieba logs its dictionary load at INFO on its own logger; keep it out of ours
jieba.setLogLevel(logging.WARNING)


def read_word_list(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]


def default_domain_words() -> list[str]:
    return read_word_list(WORDS_DIR / "domain.txt")


def default_stop_words() -> frozenset[str]:
    return frozenset(read_word_list(WORDS_DIR / "stopwords.txt"))


class ChineseTokenizer:
    """Words from jieba's search mode plus character bigrams of Chinese runs.

    Bigrams give BM25 partial credit when jieba splits a colloquial phrase
    differently from the guide's wording ("上户口" vs "户口登记").
    """

    def __init__(
        self,
        user_words: Iterable[str] = (),
        stop_words: frozenset[str] | None = None,
        cache_dir: Path | None = None,
        char_bigrams: bool = True,
        pinyin_bigrams: bool = False,
    ):
        self._jieba = jieba.Tokenizer()
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
            self._jieba.tmp_dir = str(cache_dir)
        self._stop_words = default_stop_words() if stop_words is None else stop_words
        # jieba glues fillers together ("那要", "要不"): a word made only of stop characters is a stop word too
        self._stop_chars = frozenset(w for w in self._stop_words if len(w) == 1)
        self._char_bigrams = char_bigrams
        self._pinyin_bigrams = pinyin_bigrams
        self._user_words = sorted({w.strip() for w in [*default_domain_words(), *user_words] if 1 < len(w.strip()) <= 20})
        for word in self._user_words:
            self._jieba.add_word(word, freq=20000)
        logger.debug("tokenizer has %d user words", len(self._user_words))

    def add_words(self, words: Iterable[str]) -> None:
        """Teach the tokenizer words of records added after it was built."""
        fresh = {w.strip() for w in words if 1 < len(w.strip()) <= 20} - set(self._user_words)
        for word in sorted(fresh):
            self._jieba.add_word(word, freq=20000)
        self._user_words = sorted(set(self._user_words) | fresh)

    @staticmethod
    def plain_words(text: str) -> list[str]:
        """The dictionary words ``text`` is made of, by jieba's own dictionary alone.

        A knowledge-base term is one user word to this tokenizer; split by the
        plain dictionary ("临江|街道|学校") it yields the words inside it, and
        none across a boundary (no 道学).
        """
        plain = jieba.dt
        plain.check_initialized()
        return _search_words(list(plain.cut(text, HMM=False)), plain.FREQ)

    def word_weight(self, text: str) -> int:
        """jieba's frequency of ``text`` (user words count 20000): how common a word it is, 0 for none."""
        self._jieba.check_initialized()
        return int(self._jieba.FREQ.get(text, 0))

    @property
    def user_words(self) -> list[str]:
        return list(self._user_words)

    def tokens(self, text: str) -> list[str]:
        """jieba's search-mode words, then content bigrams, from a single segmentation.

        ``cut_for_search`` and the bigrams both start from ``cut``; segmenting once
        and expanding it here (as ``cut_for_search`` does) halves the cost of
        indexing, which dominates building a base of millions of documents.
        """
        text = text.lower()
        cut = list(self._jieba.cut(text))
        words = [w for w in _search_words(cut, self._jieba.FREQ) if _WORD.fullmatch(w) and not self._is_stop(w)]
        if self._char_bigrams or self._pinyin_bigrams:
            grams = self._content_bigrams(cut)
            if self._char_bigrams:
                words.extend(f"{gram}#2" for gram in grams)
            if self._pinyin_bigrams:
                words.extend(f"{_syllables(gram)}#py" for gram in grams)
        return words

    def content_words(self, text: str) -> list[str]:
        """Words that carry meaning, trimmed of the stop characters jieba glued to them ("内要" → 内, "爸是" → 爸):
        for matching a question inside one guide, where BM25's exact tokens are too coarse."""
        self._jieba.check_initialized()
        words = []
        for token in self.tokens(text):
            if token.endswith("#2"):
                continue
            known = self._jieba.FREQ.get(token, 0) > 0  # a dictionary word (要求) keeps its characters
            trimmed = token if known else token.strip("".join(self._stop_chars))
            if trimmed and not self._is_stop(trimmed):
                words.append(trimmed)
        return list(dict.fromkeys(words))

    def _is_stop(self, word: str) -> bool:
        return word in self._stop_words or all(ch in self._stop_chars for ch in word)

    def _content_bigrams(self, cut: list[str]) -> list[str]:
        """Bigrams inside runs of content words, so "需要什么材料" adds nothing of its own."""
        grams: list[str] = []
        run = ""
        for word in [*cut, ""]:
            if word and _CJK_RUN.fullmatch(word) and not self._is_stop(word):
                run += word
                continue
            grams.extend(run[i : i + 2] for i in range(len(run) - 1))
            run = ""
        return grams


def _search_words(cut: list[str], freq: dict[str, int]) -> list[str]:
    """What ``jieba.Tokenizer.cut_for_search`` yields for ``cut``: known 2-/3-grams of long words, then the word."""
    out: list[str] = []
    for w in cut:
        if len(w) > 2:
            out.extend(g for g in (w[i : i + 2] for i in range(len(w) - 1)) if freq.get(g))
        if len(w) > 3:
            out.extend(g for g in (w[i : i + 3] for i in range(len(w) - 2)) if freq.get(g))
        out.append(w)
    return out


def _syllables(gram: str) -> str:
    """Toneless pinyin of a bigram, so a homophone slip (身分证, 社宝卡, 公基金) still
    shares a token with the guide's wording."""
    return "".join(lazy_pinyin(gram))
