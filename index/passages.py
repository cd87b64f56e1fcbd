"""Searching inside one guide, sentence by sentence.

A follow-up about the guide under discussion is rarely one of the six aspects:
"租的房子没备案行不行", "照片要几寸的", "能找人代办吗" ask about a condition, a
material's note, a step. The answer, when the guide has one, is a sentence of
that guide; so the guide is cut into labelled sentences (受理条件, a material
and its note, a situation, a step, the fee …) and the question's words are
looked up among them. Words that every sentence of the guide has (its own
name) say nothing; words few sentences have say most. Citizens' everyday words
count as the guide's (``index.lexicon``: 代办 for 找人办, 租赁 for 租的).

Words alone miss what citizens say in other words ("最晚啥时候得去" for 一个月内,
"俩人一块去" for 双方共同到场), and embeddings alone find a "closest" sentence
for any question at all. So each sentence scores its share of the question's
telling words plus how much closer in meaning it is than the guide's typical
sentence (its cosine minus the median cosine of the guide's sentences): a
sentence is quoted when the two together reach ``MIN_SCORE``. The numbers were
chosen on follow-ups about the demo base only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from index.lexicon import Lexicon
from knowledge.schema import Bundle, CrossProvinceEntry, Item, Material, Record

_SENTENCE_END = re.compile(r"(?<=[。；;！!？?\n])")
_CJK = re.compile(r"[\u4e00-\u9fff]")
MIN_SCORE = 0.40  # share of telling words + lead in meaning over the guide's median sentence, for the best
SHOWN = 3
KEEP_SHARE = 0.75  # sentences this close to the best are quoted with it
MIN_SENTENCES_FOR_MEANING = 4  # a median of fewer sentences says nothing about a typical one
CHAR_WEIGHT = 0.35  # a single character of an unmatched word (寸 of 几寸) is weak evidence
# Who the citizen speaks of ("我女朋友", "俺爸") sets the scene; it is rarely what the guide must answer
PEOPLE = frozenset({"父", "母", "父母", "子女", "配偶", "未成年", "老年人", "本人"})
PEOPLE_WEIGHT = 0.3

Encode = Callable[[list[str], str], np.ndarray]  # texts, "query" or "passage" → normalised vectors


@dataclass(frozen=True)
class Passage:
    label: str  # what part of the guide it is, in the guide's words: 受理条件, 申请材料「…」, 办理流程第2步 …
    text: str


@dataclass(frozen=True)
class Found:
    passage: Passage
    coverage: float  # share of the question's telling words (by weight) this sentence has
    score: float = 0.0  # coverage plus the sentence's lead in meaning


def passages_of(record: Record) -> list[Passage]:
    """The guide as labelled sentences, in the guide's order."""
    if isinstance(record, Item):
        return _item_passages(record)
    if isinstance(record, Bundle):
        return [*_split("概述", record.summary), *_split("怎么申请", record.how_to_apply)]
    return _cross_province_passages(record)


def _item_passages(item: Item) -> list[Passage]:
    found = [*_split("概述", item.summary), *_split("受理条件", item.conditions)]
    found += [_material(m, "申请材料") for m in item.materials]
    for situation in item.situations:
        found.append(Passage(f"情形「{situation.name}」", situation.description or situation.name))
        found += [_material(m, f"情形「{situation.name}」的材料") for m in situation.materials]
    found += [Passage(f"办理流程第{n}步", step) for n, step in enumerate(item.procedure, 1)]
    if item.fee.charged:
        found.append(Passage("收费标准", item.fee.standard))
    found += [Passage("设定依据", basis) for basis in item.legal_basis]
    for variant in item.districts:
        window = f"，{variant.window}" if variant.window else ""
        found.append(Passage(f"{variant.district}办理地点",
                             f"{variant.place}{window}，办公时间{variant.hours}，电话{variant.phone}"))
    return [p for p in found if p.text.strip()]


def _cross_province_passages(entry: CrossProvinceEntry) -> list[Passage]:
    return [*_split("适用范围", entry.scope), *_split("怎么办", entry.how_to_apply)]


def _material(material: Material, label: str) -> Passage:
    note = f"：{material.note}" if material.note else ""
    return Passage(f"{label}「{material.name}」", f"{material.name}{note}")


def _split(label: str, text: str) -> list[Passage]:
    return [Passage(label, s.strip()) for s in _SENTENCE_END.split(text or "") if s.strip()]


class GuideSearch:
    """Ranks a guide's sentences for a question; ``words`` cuts a text into content words (no stop words),
    ``encode`` embeds texts (None: words only)."""

    def __init__(self, words: Callable[[str], Iterable[str]], lexicon: Lexicon, encode: Encode | None = None):
        self._words = words
        self._lexicon = lexicon
        self._encode = encode

    def search(self, question: str, passages: list[Passage], ignore: str = "") -> list[Found]:
        """Sentences that answer the question, best first; [] when the guide says nothing of it.

        ``ignore``: text whose words tell nothing inside this guide (its own name).
        """
        if not passages:
            return []
        named = {n for n in self._words(ignore) if len(n) >= 2} if ignore else set()
        officials: dict[str, set[str]] = {}
        for sense in self._lexicon.senses(question):
            officials.setdefault(sense.said, set()).add(sense.official)
        # the guide's own name says nothing inside it, nor does a word built on it (结婚证 in 结婚登记's guide)
        # or the citizen's word for it (丢了 in 遗失补发's guide: 遗失); a piece of it may (补 of 补领 in "补好之前")
        naming = {said for said, meant in officials.items() if any(m in ignore for m in meant)} if ignore else set()
        asked = [w for w in dict.fromkeys(self._words(question))
                 if not w.endswith("#2") and not any(n in w for n in named)
                 and not any(w in said for said in naming)]
        if not asked:
            return []
        texts = [f"{p.label}{p.text}" for p in passages]
        people = {said for said, meant in officials.items() if meant & PEOPLE}
        weights = {w: _weight(w, texts) * (PEOPLE_WEIGHT if any(w in p for p in people) else 1.0) for w in asked}
        total = sum(weights.values())
        coverage = np.array([sum(weights[w] * _presence(w, t, officials) for w in asked) / total for t in texts])
        scores = coverage + self._lead_in_meaning(question, passages)
        best = float(scores.max())
        if best < MIN_SCORE:
            return []
        order = np.argsort(-scores, kind="stable")
        return [Found(passages[i], float(coverage[i]), float(scores[i])) for i in order[:SHOWN]
                if scores[i] >= KEEP_SHARE * best]

    def _lead_in_meaning(self, question: str, passages: list[Passage]) -> np.ndarray:
        """Each sentence's cosine to the question above the guide's median sentence (never below 0)."""
        if self._encode is None or len(passages) < MIN_SENTENCES_FOR_MEANING:
            return np.zeros(len(passages))
        vectors = self._encode([f"{p.label}：{p.text}" for p in passages], "passage")
        cosines = vectors @ self._encode([question], "query")[0]
        return np.maximum(cosines - np.median(cosines), 0.0)


def _weight(word: str, texts: list[str]) -> float:
    """Inverse sentence frequency inside the guide; a word the guide never uses weighs most. A number
    ("刚满20", "交了6个月") is what a rule turns on: it weighs as much as a long word."""
    having = sum(1 for t in texts if word in t)
    length = 3 if any(ch.isdigit() for ch in word) else min(len(word), 3)
    return math.log(1 + (len(texts) + 1) / (having + 1)) * length


def _presence(word: str, text: str, officials: dict[str, set[str]]) -> float:
    if word in text:
        return 1.0
    for said, meant in officials.items():
        if word in said and any(official in text for official in meant):
            return 1.0
    chars = _CJK.findall(word)
    if len(chars) >= 2:
        share = sum(1 for ch in chars if ch in text) / len(chars)
        return CHAR_WEIGHT * share
    return 0.0
