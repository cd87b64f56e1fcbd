"""Putting a citizen's slips back into the knowledge base's words before searching.

Citizens type on phones with pinyin input: a homophone slip (身分证, 公基金,
挡案, 汽税) or the initials of a word (sfz, gjj, sbk) is the commonest way a
question misses its guide. Both e5 and BM25 see such a slip as a different
word. Character bigrams and pinyin tokens soften it for BM25 only; rewriting
the question helps both sides. The ranking keeps the citizen's own text and
lists each replacement, so logs and the agent console show what was searched.

A correction is always one of the knowledge base's terms (names, aliases,
material names, domain words) or a dictionary word inside one, and a stretch
of the question is changed only when:

- the stretch is not a word of the base, and not a word of jieba's dictionary
  unless a far rarer one than the correction (身分证 is in jieba's dictionary,
  23 times against 身份证's 708), so a real word is never "corrected";
- exactly one word of the base sounds the same (toneless pinyin) and differs
  from it in one character, so the slip is unambiguous;
- for initials, a run of 3-6 Latin letters that is not a token of the base
  spells the initials of exactly one best-known word of the base (or begins
  them: "wfz" for 无犯罪记录证明).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pypinyin import Style, lazy_pinyin

from index.tokens import ChineseTokenizer

logger = logging.getLogger(__name__)

MIN_WORD, MAX_WORD = 2, 8
MIN_INITIALS, MAX_INITIALS = 3, 6  # two letters stand for too many words (hz: 护照, 换证, 户主 …)
NUMERALS = frozenset("零一二两三四五六七八九十百千万亿")
RARER_BY = 20  # a dictionary word is taken for a slip only if the base's word is this many times commoner
_CJK_WORD = re.compile(r"[\u4e00-\u9fff]{%d,%d}" % (MIN_WORD, MAX_WORD))
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{%d,}" % MIN_WORD)
_SEGMENTS = re.compile(r"[\u4e00-\u9fff]+|[A-Za-z]+|[^\u4e00-\u9fffA-Za-z]+")


@dataclass(frozen=True)
class Rewrite:
    """What was searched: the question with its slips replaced, and each replacement made."""

    text: str
    replaced: tuple[tuple[str, str], ...] = ()


class QueryRewriter:
    """Homophone and initials corrections towards one knowledge base's own terms.

    ``terms`` are the base's names, aliases, material names and domain words
    (the tokenizer's user words): a correction only ever yields one of them or
    a dictionary word inside one (登记 from 户口登记, 报名 from 入学报名), never
    a general word like 现在 that "先在" would otherwise become. ``known`` are
    the words the base's documents were indexed with; a stretch of the question
    that is one of them is the citizen's word, not a slip. ``weight`` is jieba's
    frequency of a word. Pinyin is computed once per term and kept when the
    rewriter is extended after an edit, so re-indexing one record does not redo
    the whole base.
    """

    def __init__(self, terms: Iterable[str], known: Iterable[str], weight: Callable[[str], int]):
        self._weight = weight
        self._terms: set[str] = set()  # correction targets: terms and the dictionary words inside them
        self._learnt: set[str] = set()  # terms already taken apart
        self._known: set[str] = set()
        self._by_sound: dict[str, list[str]] = {}
        self._by_initials: dict[str, list[str]] = {}
        self._latin_tokens: set[str] = set()
        self.extend(terms, known)

    def extend(self, terms: Iterable[str], known: Iterable[str] = ()) -> None:
        """Learn the terms and words of records indexed since the rewriter was built."""
        for word in known:
            if word.isascii():
                self._latin_tokens.add(word.lower())
            elif _CJK_WORD.fullmatch(word):
                self._known.add(word)
        for term in terms:
            if term in self._learnt or not _CJK_RUN.fullmatch(term):
                continue
            self._learnt.add(term)
            if len(term) <= MAX_WORD:
                self._add_target(term)
            for inner in ChineseTokenizer.plain_words(term):
                if inner != term and _CJK_WORD.fullmatch(inner) and self._weight(inner) > 0:
                    self._add_target(inner)

    def _add_target(self, word: str) -> None:
        if word in self._terms:
            return
        self._terms.add(word)
        self._by_sound.setdefault("".join(lazy_pinyin(word)), []).append(word)
        initials = "".join(s[0] for s in lazy_pinyin(word, style=Style.FIRST_LETTER) if s)
        if len(initials) == len(word):
            self._by_initials.setdefault(initials, []).append(word)

    def rewrite(self, text: str) -> Rewrite:
        replaced: list[tuple[str, str]] = []
        parts = []
        for segment in _SEGMENTS.findall(text):
            if "\u4e00" <= segment[0] <= "\u9fff":
                parts.append(self._correct_run(segment, replaced))
            elif segment.isascii() and segment.isalpha():
                parts.append(self._expand_initials(segment, replaced))
            else:
                parts.append(segment)
        return Rewrite(text="".join(parts), replaced=tuple(replaced))

    def _correct_run(self, run: str, replaced: list[tuple[str, str]]) -> str:
        """Left to right, longest stretch first; a stretch that is a word is kept as it is.

        Characters inside a term of three or more characters written correctly
        are never changed: in "提公积金" the 公 belongs to 公积金, so "提公" is
        not a slip for 提供.
        """
        syllables = lazy_pinyin(run)
        if len(syllables) != len(run):  # pypinyin keeps unknown characters whole; don't guess alignment
            return run
        settled = self._settled(run)
        out: list[str] = []
        i = 0
        while i < len(run):
            step = 1
            for length in range(min(MAX_WORD, len(run) - i), MIN_WORD - 1, -1):
                stretch = run[i : i + length]
                if stretch in self._known or stretch in self._terms:
                    out.append(stretch)
                    step = length
                    break
                fix = None if any(settled[i : i + length]) else self._sound_alike(stretch, "".join(syllables[i : i + length]))
                if fix is not None:
                    out.append(fix)
                    replaced.append((stretch, fix))
                    step = length
                    break
                if self._weight(stretch) > 0:
                    out.append(stretch)
                    step = length
                    break
            else:
                out.append(run[i])
            i += step
        return "".join(out)

    def _settled(self, run: str) -> list[bool]:
        """Which characters of ``run`` belong to a correctly written term of 3+ characters."""
        settled = [False] * len(run)
        for start in range(len(run)):
            for length in range(3, min(MAX_WORD, len(run) - start) + 1):
                if run[start : start + length] in self._terms:
                    settled[start : start + length] = [True] * length
        return settled

    def _sound_alike(self, stretch: str, sound: str) -> str | None:
        """The one word of the base that ``stretch`` is a slip for, if there is exactly one.

        A rare dictionary word (身分证, 时侯, 下在) is still a slip for a far
        commoner word of the base; a common one (公式 next to 公示, 汽水 next
        to 契税) is what the citizen meant.
        """
        matches = [w for w in self._by_sound.get(sound, ()) if len(w) == len(stretch) and _slip_of(stretch, w)]
        if len(matches) != 1:
            return None
        if self._weight(stretch) * RARER_BY > self._weight(matches[0]):
            return None
        return matches[0]

    def _expand_initials(self, letters: str, replaced: list[tuple[str, str]]) -> str:
        key = letters.lower()
        if not MIN_INITIALS <= len(key) <= MAX_INITIALS or key in self._latin_tokens:
            return letters
        words = self._by_initials.get(key)
        if not words:  # "wfz" for 无犯罪记录证明
            words = [w for k, found in self._by_initials.items() if k.startswith(key) for w in found]
            if len({w[: len(key)] for w in words}) == 1:  # 无犯罪证明, 无犯罪记录证明: the letters mean 无犯罪 either way
                words = [min(words, key=lambda w: (len(w), -self._weight(w), w))]
        if not words:
            return letters
        ranked = sorted(words, key=lambda w: (-self._weight(w), w))
        if len(ranked) > 1 and self._weight(ranked[0]) == self._weight(ranked[1]):
            return letters  # two equally likely words: leave the citizen's letters alone
        replaced.append((letters, ranked[0]))
        return ranked[0]


def _slip_of(typed: str, word: str) -> bool:
    """One character apart, and that character is no numeral: "就一千多" is not "就医"."""
    differing = [x for x, y in zip(typed, word) if x != y]
    return len(differing) == 1 and differing[0] not in NUMERALS
