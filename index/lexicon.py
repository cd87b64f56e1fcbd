"""Citizens' everyday words for the words guides use (``index/words/lexicon.txt``).

A provincial export has no aliases or similar questions: "身份证丢了" must meet
"补领居民身份证" through vocabulary that holds across bases, not through
phrasings written for one guide. Each line of the list names one official word
and the everyday words that may mean it; the mapping only goes that way (a
citizen who says 丢了 may mean 补领 or 挂失, never the reverse).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from index.tokens import WORDS_DIR, read_word_list

LEXICON_FILE = WORDS_DIR / "lexicon.txt"


class LexiconError(ValueError):
    """A line of the lexicon file is not ``official: word, word``."""


@dataclass(frozen=True)
class Sense:
    said: str  # the everyday word as the citizen wrote it
    official: str  # what a guide calls it


class Lexicon:
    def __init__(self, entries: Iterable[tuple[str, Iterable[str]]]):
        by_word: dict[str, list[str]] = {}
        for official, words in entries:
            for word in words:
                by_word.setdefault(word.lower(), []).append(official)
        self._words = sorted(by_word, key=len, reverse=True)
        self._officials = {word: tuple(dict.fromkeys(officials)) for word, officials in by_word.items()}

    @classmethod
    def load(cls, path: Path = LEXICON_FILE) -> Lexicon:
        entries = []
        for number, line in enumerate(read_word_list(path), 1):
            official, colon, words = line.partition(":")
            said = [w.strip() for w in words.split(",") if w.strip()]
            if not colon or not official.strip() or not said:
                raise LexiconError(f"{path}: entry {number}: expected 'official: word, word', got {line!r}")
            entries.append((official.strip(), said))
        return cls(entries)

    def senses(self, text: str) -> list[Sense]:
        """The everyday words in ``text`` and the official words each may mean, longest words first.

        Words inside longer ones are read too ("孩子他爸" is 父, and its "孩子" 子女): an extra
        sense costs nothing, a missed one ("过期" inside "过期了") loses the meaning.
        """
        lowered = text.lower()
        return [Sense(said=word, official=official) for word in self._words if word in lowered
                for official in self._officials[word]]

    def expand(self, text: str) -> str:
        """``text`` followed by the official words its everyday words may mean."""
        officials = dict.fromkeys(s.official for s in self.senses(text) if s.official not in text)
        return " ".join([text, *officials]) if officials else text
