"""Phone numbers and ID-card numbers: recognise them, and mask them before anything is stored or shown.

Citizens paste their mobile number and, often unasked, their resident ID number
into a chat. Transcripts kept for the hall's staff must not carry either in
full, so every stored message goes through ``mask_text`` first. The full mobile
number is kept in one place only, the booking (the hall must be able to call).

People write these numbers in many ways: full-width digits from a Chinese input
method, groups of any size ("138 1234 5678", "1101 0119 9003 0712 34",
"110101 1990 0307 1234"), separated by spaces (also the full-width U+3000),
dashes or dots, mixed, with spaces around a dash ("138 - 1234 - 5678"), behind
a +86/0086 prefix. So the text is first cut into *spans*: digit groups joined by
such separators (within a line: a line break ends a span). A number must then
be made of whole groups of one span: a mobile number is never "found" inside a
longer run of digits written together (an ID number, a bank card, an order
number), but a number may end at any separator, so "2026-12-03 138 1234 5678"
still hides the phone. Glued to a Latin letter, 15 or 18 digits are some code,
not an ID number.

Within a span, the reading that hides the most digits wins (``_read_span``): a
wrongly chosen short number must not leave most of a longer one in clear.
A number spread over several groups must also look real (see ``_looks_like_id``),
so a list of small numbers or a date range is not masked as an ID number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# Spaces within a line (ASCII, no-break, the full-width U+3000, the thin and zero-width ones),
# and the marks people put between digit groups: every kind of dash and dot. Not "/", ":", ","
# or "年月日": those write dates, times and amounts, never a phone or an ID number.
_SPACE = r"[ \t\u00a0\u1680\u2000-\u200b\u202f\u205f\u2060\u3000\ufeff]"
_MARK = r"[\-\u2010-\u2015\u2212\ufe58\ufe63\uff0d.\uff0e\u00b7\u2022\u30fb]"
_SEPARATOR = rf"(?:{_SPACE}{{0,3}}{_MARK}{{1,2}}{_SPACE}{{0,3}}|{_SPACE}{{1,3}})"
_LETTER = r"[A-Za-z\uff21-\uff3a\uff41-\uff5a]"

# digit groups joined by separators; an ID number's final X may follow, unless a word goes on
_SPAN = re.compile(rf"[0-9]+(?:{_SEPARATOR}[0-9]+)*(?:{_SEPARATOR}?[Xx](?![0-9]|{_LETTER}))?")
_GROUP = re.compile(r"[0-9]+[Xx]?|[Xx]")
_IS_LETTER = re.compile(_LETTER)

_SEPARATORS = re.compile(rf"[\s()（）]|{_MARK}|{_SPACE}")
_COUNTRY_PREFIX = re.compile(r"^(?:\+|00)?86(?=1[0-9]{10}$)")
_MAINLAND_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_PHONE_PREFIXES = ("0086", "86", "")  # longest first: "0086…" is not read as "00" + "86…"
_LONGEST_NUMBER = 18  # digits: no number is longer than an ID number
_MOBILE_LENGTHS = (11, 13, 15)  # without a prefix, behind 86, behind 0086
_ID_LENGTHS = (15, 18)
_SHORTEST_NUMBER = 11  # digits: a mobile number

# Full-width digits (common from Chinese input methods) are read as ASCII. The translation
# keeps every character where it was, so a match in the translated text is a match in the original.
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789Xx")
_FULL_WIDTH = str.maketrans("０１２３４５６７８９＋Ｘｘ－", "0123456789+Xx-")


def _ascii(text: str) -> str:
    return (text or "").translate(_FULL_WIDTH)


def normalise_phone(text: str) -> str:
    """Digits only, without separators or a leading +86/0086/86: ``"+86 138-1234-5678"`` → ``"13812345678"``.

    The result is not checked; ``is_mainland_mobile`` says whether it is a mobile number.
    """
    compact = _SEPARATORS.sub("", _ascii(text).strip())
    return _COUNTRY_PREFIX.sub("", compact)


def is_mainland_mobile(number: str) -> bool:
    return _MAINLAND_MOBILE.fullmatch(number or "") is not None


def mask_phone(number: str) -> str:
    """``"13812345678"`` → ``"138****5678"``: enough for a citizen to recognise their own number."""
    digits = normalise_phone(number)
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def _mask_id(number: str) -> str:
    """First 3 and last 2 characters: enough for a citizen to recognise their number, too few to identify anyone."""
    return f"{number[:3]}{'*' * (len(number) - 5)}{number[-2:]}"


@dataclass(frozen=True)
class _Group:
    """One digit group of a span, possibly ending with an X (or being only the X)."""

    start: int
    digits: str
    x: str  # "X", "x" or ""

    @property
    def end(self) -> int:
        return self.start + len(self.digits) + len(self.x)


@dataclass(frozen=True)
class _Found:
    """A number to mask: ``text[start:end]`` becomes ``masked``; a mobile's +86 prefix is left outside."""

    kind: Literal["id", "mobile"]
    start: int
    end: int
    value: str  # the ID number (15 or 18 characters), or the 11 digits of the mobile

    @property
    def masked(self) -> str:
        return _mask_id(self.value) if self.kind == "id" else mask_phone(self.value)


def _looks_like_id(number: str) -> bool:
    """A plausible birth date (YYYYMMDD in an 18-digit number, YYMMDD in an old 15-digit one).

    Asked of every ID number written in several groups: a list of small numbers
    adds up to 15 or 18 digits somewhere, but only a real ID number has a birthday.
    """
    if len(number) == 18:
        year, month, day = int(number[6:10]), int(number[10:12]), int(number[12:14])
    else:
        year, month, day = 1900 + int(number[6:8]), int(number[8:10]), int(number[10:12])
    return 1900 <= year <= 2099 and 1 <= month <= 12 and 1 <= day <= 31


@dataclass(frozen=True)
class _Span:
    """Digit groups joined by separators, and whether a word is glued to its first or last digit."""

    groups: list[_Group]
    word_before: bool
    word_after: bool


def _span(text: str, match: re.Match[str]) -> _Span:
    groups = []
    for group in _GROUP.finditer(match.group(0)):
        digits = group.group(0).rstrip("Xx")
        groups.append(_Group(match.start() + group.start(), digits, group.group(0)[len(digits):]))
    word_before = match.start() > 0 and _IS_LETTER.match(text, match.start() - 1) is not None
    word_after = match.end() < len(text) and _IS_LETTER.match(text, match.end()) is not None
    return _Span(groups, word_before, word_after)


def _as_mobile(digits: str, positions: list[int]) -> _Found | None:
    """The digits as a mobile number, maybe behind an 86/0086 prefix; the prefix is kept in clear."""
    for prefix in _PHONE_PREFIXES:
        mobile = digits[len(prefix):]
        if digits.startswith(prefix) and is_mainland_mobile(mobile):
            return _Found("mobile", positions[len(prefix)], positions[-1] + 1, mobile)
    return None


def _as_id(span: _Span, first: int, last: int, digits: str) -> _Found | None:
    """Groups ``first..last`` as an ID number; glued to a word it is some code, and no area code starts with 0."""
    x = span.groups[last].x
    number = digits + x
    if len(number) not in (15, 18) or (x and len(digits) != 17) or number.startswith("0"):
        return None
    if (first == 0 and span.word_before) or (last == len(span.groups) - 1 and not x and span.word_after):
        return None
    if first != last and not _looks_like_id(number):
        return None
    return _Found("id", span.groups[first].start, span.groups[last].end, number)


def _numbers_from(span: _Span, first: int) -> list[tuple[int, int, _Found]]:
    """Every number that starts at group ``first``: its last group, the digits it uses up, the number.

    Mobiles come before ID numbers, so that a tie goes to the mobile.
    """
    found: list[tuple[int, int, _Found]] = []
    digits = ""
    positions: list[int] = []
    for last in range(first, len(span.groups)):
        group = span.groups[last]
        digits += group.digits
        positions += range(group.start, group.start + len(group.digits))
        if len(digits) > _LONGEST_NUMBER:
            break
        if group.digits and len(digits) in _MOBILE_LENGTHS and (mobile := _as_mobile(digits, positions)):
            found.append((last, len(digits), mobile))
        if len(digits) + len(group.x) in _ID_LENGTHS and (id_number := _as_id(span, first, last, digits)):
            found.append((last, len(id_number.value), id_number))
        if group.x:  # an X ends a number
            break
    return found


def _read_span(text: str, match: re.Match[str]) -> list[_Found]:
    """The numbers in one span: of all ways to read it, the one that hides the most digits.

    Read greedily from the left, "2 138 1234 5678" or "110101 19900307 1234"
    could start with something that leaves most of a number in clear; choosing by
    digits hidden (then by fewer numbers) is what keeps every whole number masked.
    """
    if sum(char.isdigit() for char in match.group(0)) < _SHORTEST_NUMBER:
        return []  # a date, a time, an amount: most spans are too short to be anyone's number
    span = _span(text, match)
    count = len(span.groups)
    score: list[tuple[int, int]] = [(0, 0)] * (count + 1)
    choice: list[tuple[int, _Found] | None] = [None] * (count + 1)
    for first in reversed(range(count)):
        score[first], choice[first] = score[first + 1], None
        for last, used, number in _numbers_from(span, first):
            hidden, pieces = score[last + 1]
            candidate = (hidden + used, pieces - 1)
            if candidate > score[first]:
                score[first], choice[first] = candidate, (last, number)
    return _follow(span.groups, choice)


def _follow(groups: list[_Group], choice: list[tuple[int, _Found] | None]) -> list[_Found]:
    numbers: list[_Found] = []
    index = 0
    while index < len(groups):
        picked = choice[index]
        if picked is None:
            index += 1
        else:
            numbers.append(picked[1])
            index = picked[0] + 1
    return numbers


def _numbers(text: str) -> list[_Found]:
    """Every ID number and mobile number in the text, in order."""
    readable = (text or "").translate(_FULL_WIDTH_DIGITS)
    return [number for span in _SPAN.finditer(readable) for number in _read_span(readable, span)]


def find_mobile(text: str) -> str | None:
    """The first mainland mobile number in free text, normalised; None when there is none."""
    return next((number.value for number in _numbers(text) if number.kind == "mobile"), None)


def mask_text(text: str) -> str:
    """The text with every ID number (first 3 and last 2 characters kept) and mobile number masked.

    A masked number is written without its separators and in ASCII digits;
    everything else, the citizen's own punctuation included, is left as written.
    """
    if not text:
        return text
    parts: list[str] = []
    kept_from = 0
    for number in _numbers(text):
        parts += [text[kept_from:number.start], number.masked]
        kept_from = number.end
    parts.append(text[kept_from:])
    return "".join(parts)


def contains_id_number(text: str) -> bool:
    return any(number.kind == "id" for number in _numbers(text))
