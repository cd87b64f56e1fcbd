"""Which of a few names a short text means, by the words that tell them apart.

Used wherever a citizen's words are read against a small set of known
names rather than the whole base: a typed reply against the bot's choices
(``actions.offers``), "那补办呢" against the family of the guide just discussed,
"公积金怎么提取" against the kinds of 提取 (``index.families``).

What all the names share says nothing about which is meant (居民身份证 of
居民身份证补领 / 换领): each character and bigram of a name counts by how few
of the names have it, and citizens' everyday words are read as the guides'
words (``index.lexicon``). A text that scores two names alike, or leaves much of
itself unexplained ("社保卡补办" read against 身份证 names), picks none.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence

from index.lexicon import Lexicon, Sense

_NOT_WORD = re.compile(r"[\W_]+")
# what a short reply wraps a choice in ("我在东湖那边", "随他爸的"), beside the tokenizer's stop words
REPLY_FILLER = ("那边", "这边", "那里", "这里", "那个", "这个", "情况", "一下", "我是", "我们", "的话", "就是", "属于",
                "应该", "如果是", "要是", "换成", "那么", "吧", "呢", "啊", "呀", "哈", "啦", "哦", "嗯", "的", "是",
                "我", "在", "了", "选", "要", "办", "那", "这", "个", "种", "家", "去", "想", "吗", "么")
_NEGATED = re.compile(r"(?:没有|没|不是|并非|无|非)[\u4e00-\u9fff]{1,2}")
REST_MAX_CHARS = 2  # content a pick may leave unexplained (a stray character; 社保卡 is a thing of its own)
# How much of a name's own words a text must say: a question may name its member by one character of its own
# (补 of 补领 beside 换领); a short reply, which has nothing else to go by, by a word (a bigram or an official one)
FAVOUR_ENOUGH = 1.0
PICK_ENOUGH = 2.0


def normalise(text: str) -> str:
    """NFKC, lower case, without punctuation, symbols or spaces."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text or "")).lower()


_CHINESE_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_SAID_AGE = re.compile(r"(\d{1,3}|[一二两三四五六七八九十]{1,3})(?:周)?岁")
# how a guide bounds an age: 未满16周岁, 年满16周岁, 16周岁以上, 18岁以下 …
_BOUND = re.compile(r"(未满|不满|年满|满|已满)?(\d{1,3})(?:周)?岁(以上|以下|及以上|及以下|以内)?")


def _chinese_number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if text == "十":
        return 10
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_CHINESE_DIGITS.get(tens, 1) if tens else 1) * 10 + (_CHINESE_DIGITS.get(ones, 0) if ones else 0)
    return _CHINESE_DIGITS.get(text) if len(text) == 1 else None


def said_age(text: str) -> int | None:
    """The age a text tells ("娃才14岁", "十五岁了"), or None."""
    match = _SAID_AGE.search(text)
    return _chinese_number(match.group(1)) if match else None


def age_test(name: str) -> Callable[[int], bool] | None:
    """What ages a name admits, when it bounds one ("未满16周岁首次申领": under 16), or None."""
    match = _BOUND.search(name)
    if match is None:
        return None
    qualifier, number, direction = match.group(1) or "", int(match.group(2)), match.group(3) or ""
    if qualifier in ("未满", "不满") or direction in ("以下", "以内"):
        return (lambda age: age < number) if qualifier or direction == "以内" else (lambda age: age <= number)
    if qualifier in ("年满", "满", "已满") or direction.endswith("以上"):
        return lambda age: age >= number
    return None


def by_age(text: str, names: Sequence[str]) -> int | None:
    """The one name whose age bound admits the age ``text`` tells, among names that bound ages."""
    age = said_age(text)
    tests = [age_test(n) for n in names]
    if age is None or sum(t is not None for t in tests) < 2:
        return None
    fitting = [i for i, test in enumerate(tests) if test is not None and test(age)]
    return fitting[0] if len(fitting) == 1 else None


# Names that differ only by whether something is so ("已落实就业单位…" / "未落实就业单位…", "本地户口" / "非本地户口")
_NAME_DENIES = ("未", "非", "无", "没有", "不")
_NAME_AFFIRMS = ("已", "有", "")
_SAID_DENIES = re.compile(r"没|未|不是|不在|并非|还不|无")
_SAID_SO = re.compile(r"已|了")


POLAR_OBJECT_CHARS = 6  # what a 未/已 bears on: the words right after it ("落实就业单位")
DENIAL_REACH = 4  # what a citizen's 没 bears on: the words right after it ("没找着工作")


def polar_pairs(names: Sequence[str]) -> list[tuple[int, int, str, bool]]:
    """(the denying name, the affirming name, what the 未/已 bears on, whether the affirming name says 已 or 有)
    for each such pair among ``names``."""
    pairs = []
    for i, name in enumerate(names):
        for mark in _NAME_DENIES:
            at = name.find(mark)
            if at < 0:
                continue
            for so in _NAME_AFFIRMS:
                twin = name[:at] + so + name[at + len(mark):]
                j = next((j for j, other in enumerate(names) if other == twin and j != i), None)
                if j is not None:
                    pairs.append((i, j, name[at + len(mark):at + len(mark) + POLAR_OBJECT_CHARS], bool(so)))
    return pairs


class WordReader:
    def __init__(self, lexicon: Lexicon, stop_words: Iterable[str] = ()):
        self.lexicon = lexicon
        self._filler = sorted({*REPLY_FILLER, *(w for w in stop_words if len(w) <= 3)}, key=len, reverse=True)

    def pick(self, text: str, names: Sequence[str]) -> int | None:
        """The index of the one name a short ``text`` means, by its words and nothing else it says, or None."""
        said = normalise(text)
        titles = [normalise(n) for n in names]
        aged = by_age(text, names)
        if aged is not None:
            return aged
        best = self._best(said, titles, enough=PICK_ENOUGH)
        if best is None:
            return None
        senses = self.lexicon.senses(said)
        explained = set(titles[best])
        for sense in senses:
            if sense.official in titles[best]:
                explained |= set(sense.said)
        rest = self.unexplained(said, explained)
        if len(rest) > REST_MAX_CHARS or any(_names_another_thing(s, rest, titles) for s in senses):
            return None
        return best

    def favours(self, text: str, names: Sequence[str], enough: float = 0.0, *, officials_only: bool = False) -> int | None:
        """The index of the name whose own words ``text`` says clearly more than any other's, or None;
        the rest of ``text`` may say anything (a question is longer than a reply). An age it tells picks the
        name whose age bound admits it ("娃才14岁" among 未满16周岁 / 年满16周岁). ``officials_only``: only the
        guides' words the citizen's everyday words mean count ("头回" for 首次申领), not characters the text
        happens to share with a name ("香港定居" is no vote for 赴台定居签注)."""
        aged = by_age(text, names)
        if aged is not None:
            return aged
        best = self._best(normalise(text), [normalise(n) for n in names], enough=max(enough, FAVOUR_ENOUGH),
                          officials_only=officials_only)
        return best if best is not None else self.by_polarity(text, names)

    def by_polarity(self, text: str, names: Sequence[str]) -> int | None:
        """Between two names that differ only by a 未/已 ("未落实就业单位" / "已落实就业单位"), the one ``text``
        agrees with: a denial of what the 未/已 bears on ("还没找着工作": 就业) picks the first; a thing done
        ("工作已经签了") picks the second when it names its own 已 or 有. None when no such pair is spoken of,
        the denial bears on something else ("户口没迁走, 单位让落户"), or pairs disagree."""
        said = normalise(text)
        chosen = set()
        for deny, affirm, bears_on, marked in polar_pairs([normalise(n) for n in names]):
            denials = [m.end() for m in _SAID_DENIES.finditer(said)]
            if any(self._speaks_of(said[end:end + DENIAL_REACH], bears_on) for end in denials):
                chosen.add(deny)
            elif not denials and marked and _SAID_SO.search(said) and self._speaks_of(said, bears_on):
                chosen.add(affirm)
        return chosen.pop() if len(chosen) == 1 else None

    def _speaks_of(self, said: str, bears_on: str) -> bool:
        return (any(said[k:k + 2] in bears_on for k in range(len(said) - 1))
                or any(s.official in bears_on for s in self.lexicon.senses(said)))

    def leaders(self, text: str, names: Sequence[str]) -> list[int]:
        """The names ``text`` speaks for equally and more than for the rest ("居住地" among four names, two
        of them 居住地申请), best first; [] when it speaks for none."""
        said = normalise(text)
        scores = overlaps(said, {s.official for s in self.lexicon.senses(said)}, [normalise(n) for n in names])
        top = max(scores, default=0.0)
        if top < FAVOUR_ENOUGH:
            return []
        leading = [i for i, score in enumerate(scores) if score == top]
        others = max((score for score in scores if score < top), default=0.0)
        return leading if top >= 1.5 * others else []

    def _best(self, said: str, titles: Sequence[str], enough: float = FAVOUR_ENOUGH,
              officials_only: bool = False) -> int | None:
        if not said or not titles:
            return None
        # the everyday words are read in the whole text ("没结婚" is 非婚生); the text's own characters only
        # where it does not deny them ("没有单位" is no vote for 单位缴存登记)
        literal = "" if officials_only else _NEGATED.sub("", said)
        scores = overlaps(literal, {s.official for s in self.lexicon.senses(said)}, titles)
        best = max(range(len(scores)), key=scores.__getitem__)
        runner_up = max((s for i, s in enumerate(scores) if i != best), default=0.0)
        if scores[best] < enough or scores[best] < 1.5 * runner_up or scores[best] == runner_up:
            return None
        return best

    def unexplained(self, said: str, explained: set[str]) -> str:
        """What of ``said`` is neither in ``explained`` nor filler."""
        rest = "".join(ch for ch in said if ch not in explained)
        for word in self._filler:
            rest = rest.replace(word, "")
        return rest


def overlaps(said: str, officials: set[str], parts: Sequence[str]) -> list[float]:
    """How much of each part the text says.

    The text's own characters (1) and bigrams (2) found in a part, each divided
    by how many parts have it: what every part has tells none apart and counts
    nothing, what one part alone has counts fully. An official word the text's
    everyday words may mean counts (2) for the parts it is part of, or that are
    part of it ("补" of 补领), shared the same way; it is matched whole, so
    租赁住房 (for 租房) does not lend its 住房 to 偿还住房贷款.
    """
    units = [[*set(p), *{p[i:i + 2] for i in range(len(p) - 1)}] for p in parts]
    spread: dict[str, int] = {}
    for own in units:
        for unit in own:
            spread[unit] = spread.get(unit, 0) + 1
    meant = {o: [i for i, p in enumerate(parts) if o in p or p in o] for o in officials}
    scores = []
    for index, own in enumerate(units):
        score = 0.0
        for unit in own:
            if unit in said and (spread[unit] < len(parts) or len(parts) == 1):
                score += len(unit) / spread[unit]
        for where in meant.values():
            if index in where and (len(where) < len(parts) or len(parts) == 1):
                score += 2.0 / len(where)
        scores.append(score)
    return scores


def _names_another_thing(sense: Sense, rest: str, titles: Sequence[str]) -> bool:
    """"驾照丢了" read against 身份证 names: 驾照 is left unexplained and means something no name is about."""
    return all(ch in rest for ch in sense.said) and not any(sense.official in title for title in titles)
