"""Reading a typed reply against the choices the bot has just offered.

Citizens type as often as they tap: offered 首次申领 / 换领 / 补领 they write
"补办的", "第三个" or "丢了"; offered a newborn's situations they write "随他爸".
Before anything else understands such a reply, it is read against the offer,
so that it means what tapping that choice would have meant, and never another
guide that happens to share a word. A reply that matches none of the choices,
or more than one equally, is no pick: it goes on to normal understanding.

The reading, in order: the whole title; a number or ordinal (2, 第二个, 最后那个);
yes or no when the offer is a yes/no question; the words that tell one choice
from the others (``index.wording``: what all titles share says nothing, and
citizens' everyday words are read as the guides'); and, for a short reply,
closeness in meaning, which the caller supplies (it needs the embedding model).
A word pick must also leave little of the reply unexplained: "社保卡补办要什么材料"
shares 补 with a 补领 choice but is a new question.

No Rasa import: the service runs this before the message reaches the bot.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from index.engine import RetrievalEngine
from index.live import EngineSource
from index.wording import WordReader, normalise
from knowledge.schema import Item

_COUNTER = re.compile(r"[（(]余\d+[)）]$")  # "09:00-10:00（余6）": places left, not part of the choice
_PAYLOAD = re.compile(r"^/(?P<intent>[A-Za-z_]+)(?P<entities>\{.*\})?$", re.DOTALL)
_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_CHINESE_NUMBERS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_LEAD = r"(?:我|那)?(?:就|要|选|点|是|选择|选的|要的是)?"
_TAIL = r"(?:个|项|条|号|种|种情况|个吧|项吧|个的|个啊|那个|这个)?(?:吧|啊|呀|的|呗|哈)?"
_ORDINAL = re.compile(rf"^{_LEAD}第(?P<n>[0-9]{{1,2}}|[一二两三四五六七八九十]){_TAIL}$")
_NUMBER = re.compile(rf"^{_LEAD}(?P<n>[0-9]{{1,2}}){_TAIL}$")
_BARE_CHINESE = re.compile(r"^(?P<n>[一二两三四五六七八九十])$")
_LAST = re.compile(rf"^{_LEAD}(?:最后|最后面|最下面|倒数第一)(?:一个|一项|那个|个|项|一种)?(?:吧|的|呗)?$")
_SECOND_LAST = re.compile(rf"^{_LEAD}倒数第(?:二|2)(?:个|项)?(?:吧|的)?$")

YES = frozenset({"好", "好的", "好啊", "好吧", "行", "行吧", "可以", "要", "要的", "需要", "是", "是的", "对", "对的",
                 "嗯", "嗯嗯", "恩", "ok", "okay", "确认", "确定", "没问题", "麻烦了", "麻烦你了", "转吧", "转",
                 "转人工吧", "好的谢谢", "行的", "中", "要得", "得"})
NO = frozenset({"不", "不用", "不用了", "不要", "不需要", "算了", "不了", "否", "暂时不用", "先不用", "不用谢谢", "没事",
                "没事了"})
MEANING_MAX_CHARS = 24  # longer replies say more than a choice: they are questions of their own
MEANING_MARGIN = 0.03  # how much closer in meaning the best choice must be than the next
MEANING_FLOOR = 0.80


@dataclass(frozen=True)
class Choice:
    title: str
    payload: str

    @property
    def intent(self) -> str:
        return parse_payload(self.payload)[0]

    @property
    def entities(self) -> dict[str, str]:
        return parse_payload(self.payload)[1]


@dataclass(frozen=True)
class Pick:
    choice: Choice
    how: str  # "title", "number", "yes", "no", "words" or "meaning"


Meaning = Callable[[str, Sequence[Choice]], Sequence[float] | None]
"""Closeness in meaning of a reply to each choice (cosines), or None when it can't tell."""


def parse_payload(payload: str) -> tuple[str, dict[str, str]]:
    """``/ask_materials{"item_code":"X"}`` → ("ask_materials", {"item_code": "X"}); ("", {}) for plain text."""
    match = _PAYLOAD.match(payload.strip())
    if match is None:
        return "", {}
    try:
        entities = json.loads(match.group("entities")) if match.group("entities") else {}
    except json.JSONDecodeError:
        return "", {}
    return match.group("intent"), {str(k): str(v) for k, v in entities.items()} if isinstance(entities, dict) else {}


class OfferReader:
    def __init__(self, words: WordReader, meaning: Meaning | None = None):
        self._words = words
        self._meaning = meaning

    def read(self, text: str, choices: Sequence[Choice]) -> Pick | None:
        said = normalise(text)
        if not said or not choices:
            return None
        titles = [normalise(_COUNTER.sub("", c.title)) for c in choices]
        for choice, title in zip(choices, titles):
            if said == title or said == normalise(_payload_text(choice)):
                return Pick(choice, "title")
        number = ordinal(said, len(choices))
        if number is not None:
            return Pick(choices[number - 1], "number")
        answer = self._yes_no(said, choices)
        if answer is not None:
            return answer
        wordy = [i for i, c in enumerate(choices) if _readable_by_words(c)]
        if wordy:
            chosen = self._words.pick(said, [titles[i] for i in wordy])
            if chosen is not None:
                return Pick(choices[wordy[chosen]], "words")
        guides = _guides_or_situations([choices[i] for i in wordy])
        if self._meaning is not None and len(said) <= MEANING_MAX_CHARS and len(guides) >= 2:
            return self._by_meaning(text, guides)
        return None

    def _yes_no(self, said: str, choices: Sequence[Choice]) -> Pick | None:
        """A yes/no offer is two choices, one of them ``/deny``: 好的 takes the other, 不用了 the ``/deny``."""
        if len(choices) != 2:
            return None
        no = [c for c in choices if c.payload == "/deny"]
        yes = [c for c in choices if c.payload != "/deny"]
        if len(no) != 1:
            return None
        if said in YES:
            return Pick(yes[0], "yes")
        if said in NO:
            return Pick(no[0], "no")
        return None

    def _by_meaning(self, text: str, choices: Sequence[Choice]) -> Pick | None:
        assert self._meaning is not None
        scores = self._meaning(text, choices)
        if not scores or len(scores) != len(choices):
            return None
        ranked = sorted(range(len(scores)), key=lambda i: scores[i], reverse=True)
        best, second = scores[ranked[0]], scores[ranked[1]]
        if best >= MEANING_FLOOR and best - second >= MEANING_MARGIN:
            return Pick(choices[ranked[0]], "meaning")
        return None


def _payload_text(choice: Choice) -> str:
    """A choice whose payload is plain text (a WeChat menu's question) is picked by typing that text too."""
    return "" if choice.payload.startswith("/") else choice.payload


def ordinal(said: str, count: int) -> int | None:
    """1-based position a reply names among ``count`` choices: 2, 第二个, 选第2项, 最后那个, 倒数第二."""
    said = said.translate(_DIGITS)
    if _LAST.match(said):
        return count
    if _SECOND_LAST.match(said):
        return count - 1 if count >= 2 else None
    match = _ORDINAL.match(said) or _NUMBER.match(said) or _BARE_CHINESE.match(said)
    if match is None:
        return None
    raw = match.group("n")
    number = int(raw) if raw.isdigit() else _CHINESE_NUMBERS[raw]
    return number if 1 <= number <= count else None


def _guides_or_situations(choices: Sequence[Choice]) -> list[Choice]:
    """The choices meaning can tell apart: situations, or guides (several item codes); not the aspects of the
    guide already chosen (NLU reads those, and one embedding a turn for them would be spent for nothing),
    districts or a yes/no."""
    situations = [c for c in choices if "situation" in c.entities]
    if situations:
        return situations
    guides = [c for c in choices if "item_code" in c.entities]
    return guides if len({c.entities["item_code"] for c in guides}) >= 2 else []


def _readable_by_words(choice: Choice) -> bool:
    """Dates and time slots are read by the form itself ("下周二" is not the 周二 of this week's button)."""
    entities = choice.entities
    return not ("date" in entities or "time" in entities)


def engine_meaning(source: EngineSource) -> Meaning:
    """Closeness in meaning by the retrieval engine's embedding model: each choice as the guide words it
    (a situation with its description, an item by its name), the reply as a question."""

    def meaning(text: str, choices: Sequence[Choice]) -> Sequence[float] | None:
        engine = source.engine()
        return engine.closeness(text, [_label(engine, c) for c in choices])

    return meaning


def _label(engine: RetrievalEngine, choice: Choice) -> str:
    entities = choice.entities
    record = engine.record(entities.get("item_code", ""))
    if isinstance(record, Item) and entities.get("situation"):
        situation = next((s for s in record.situations if s.code == entities["situation"]), None)
        if situation is not None:
            return f"{record.name}（{situation.name}）{situation.description}"
    if record is not None:
        return record.name
    return _COUNTER.sub("", choice.title)

