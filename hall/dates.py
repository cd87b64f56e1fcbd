"""Dates and times as citizens write them in Chinese: "下周三下午", "11月25号", "九点半".

Everything here is pure: the current day is always an argument, so a test (or a
replayed conversation) gets the same answer on any day. Text is NFKC-normalised
first, which turns full-width digits and the full-width colon into ASCII ones.

When a text holds several date expressions the earliest one wins ("明天或者后天"
is tomorrow); among expressions starting at the same place the longest wins
("大后天", not "后天"). A date that does not exist ("2月30日") gives ``None``
rather than a guess.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Callable
from datetime import date, time, timedelta
from typing import Literal

PartOfDay = Literal["morning", "afternoon"]

WEEKDAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUM = r"(?:\d{1,2}|[一二三四五六七八九十两廿]{1,3})"
_WEEKDAY_CHARS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}

_ISO = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_YEAR_MONTH_DAY = re.compile(rf"(\d{{4}}|[〇零一二三四五六七八九]{{4}})年({_NUM})月({_NUM})[日号]?")
_MONTH_DAY = re.compile(rf"(?<![\d年])({_NUM})月({_NUM})(?![\d点时:])[日号]?")
# "3号窗口", "1号线", "三日内办结" are not dates: those words after the number rule it out.
_DAY_ONLY = re.compile(
    rf"(?<![\d一二三四五六七八九十两廿月])({_NUM})[日号](?!窗|楼|线|门|厅|柜|台|机|房|位|座|馆|码|内|之|以|后|左右)"
)
_WEEKDAY = re.compile(r"(?<!每)(下下个?|下个?|这个?|本|上个?)?(?:周|星期|礼拜)([一二三四五六日天])(?!次)")
_RELATIVE = {"大后天": 3, "大前天": -3, "后天": 2, "後天": 2, "前天": -2, "明天": 1, "明日": 1, "明儿": 1,
             "昨天": -1, "昨日": -1, "今天": 0, "今日": 0, "今儿": 0}
_RELATIVE_RE = re.compile("|".join(sorted(_RELATIVE, key=len, reverse=True)))

_MORNING_WORDS = ("上午", "早上", "早晨", "上班", "中午前", "明早", "一早", "清早")
_AFTERNOON_WORDS = ("下午", "午后", "傍晚", "下班前")
_EVENING_WORDS = ("晚上", "夜里")

_COLON_CLOCK = re.compile(r"(?<!\d)([01]?\d|2[0-3]):([0-5]\d)(?!\d)")
# "快一点" and "一点点" mean "a bit", "一时半会" "a while": a word clock needs 点 after a number
# not preceded by a comparative, and 时 only after ASCII digits ("10时30分").
_WORD_CLOCK = re.compile(
    rf"(?<![\d快早晚近远多少好慢大小高低有差些])(?:(?P<digits>\d{{1,2}})时|(?P<hour>{_NUM})点(?!点))"
    rf"(?:(?P<half>半)|(?P<quarter>一刻|三刻)|(?P<minute>{_NUM})分?)?"
)


def normalise(text: str) -> str:
    """Full-width digits and punctuation to ASCII, so one regex covers both."""
    return unicodedata.normalize("NFKC", text or "")


def cn_number(token: str) -> int | None:
    """``"25"``, ``"二十五"``, ``"廿五"``, ``"十"``, ``"二〇二六"`` → int; anything else → None."""
    if not token:
        return None
    if token.isdigit():
        return int(token)
    if token.startswith("廿"):
        rest = cn_number(token[1:]) if len(token) > 1 else 0
        return None if rest is None or rest > 9 else 20 + rest
    if "十" in token:
        tens, _, ones = token.partition("十")
        if len(tens) > 1 or len(ones) > 1 or (tens and tens not in _CN_DIGITS) or (ones and ones not in _CN_DIGITS):
            return None
        return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)
    if all(char in _CN_DIGITS for char in token):
        return int("".join(str(_CN_DIGITS[char]) for char in token))
    return None


def _safe_date(year: int, month: int, day: int) -> date | None:
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]):
        return None
    return date(year, month, day)


def _full_date(match: re.Match[str], today: date) -> date | None:
    year, month, day = (cn_number(group) for group in match.groups())
    if year is None or month is None or day is None or not 1900 <= year <= 2999:
        return None
    return _safe_date(year, month, day)


def _month_day(match: re.Match[str], today: date) -> date | None:
    """A year-less date means its next occurrence: one already past this year is next year's."""
    month, day = cn_number(match.group(1)), cn_number(match.group(2))
    if month is None or day is None:
        return None
    for year in range(today.year, today.year + 8):  # 8 years reach the next 29 February
        found = _safe_date(year, month, day)
        if found is not None and found >= today:
            return found
    return None


def _day_only(match: re.Match[str], today: date) -> date | None:
    """"25号" is this month's 25th, or the next month that has one when it is already past."""
    day = cn_number(match.group(1))
    if day is None or not 1 <= day <= 31:
        return None
    for offset in range(3):
        month_index = today.month - 1 + offset
        found = _safe_date(today.year + month_index // 12, month_index % 12 + 1, day)
        if found is not None and found >= today:
            return found
    return None


def _weekday(match: re.Match[str], today: date) -> date:
    """Weeks run Monday to Sunday; a bare "周三" is the next Wednesday, today if today is one."""
    prefix, weekday = match.group(1) or "", _WEEKDAY_CHARS[match.group(2)]
    monday = today - timedelta(days=today.weekday())
    if not prefix:
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    weeks = {"下下": 2, "下": 1, "上": -1}.get(prefix.rstrip("个"), 0)
    return monday + timedelta(weeks=weeks, days=weekday)


def _relative(match: re.Match[str], today: date) -> date:
    return today + timedelta(days=_RELATIVE[match.group(0)])


_PARSERS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str], date], date | None]], ...] = (
    (_ISO, _full_date),
    (_YEAR_MONTH_DAY, _full_date),
    (_MONTH_DAY, _month_day),
    (_DAY_ONLY, _day_only),
    (_WEEKDAY, _weekday),
    (_RELATIVE_RE, _relative),
)


def _earliest(text: str) -> tuple[re.Match[str], Callable[[re.Match[str], date], date | None]] | None:
    """The expression starting first, the longest of those starting there."""
    found = [(match, parse) for pattern, parse in _PARSERS if (match := pattern.search(text)) is not None]
    if not found:
        return None
    return min(found, key=lambda pair: (pair[0].start(), -(pair[0].end() - pair[0].start())))


def parse_date(text: str, today: date) -> date | None:
    """The date a citizen's text names, relative to ``today``; None when it names none."""
    found = _earliest(normalise(text))
    if found is None:
        return None
    # The earliest expression decides, even when it names an impossible date: falling back to
    # a part of it ("30日" of "2月30日") would answer a question the citizen did not ask.
    match, parse = found
    return parse(match, today)


def _first_word(text: str, words: tuple[str, ...]) -> int | None:
    positions = [text.find(word) for word in words if word in text]
    return min(positions) if positions else None


def parse_part_of_day(text: str) -> PartOfDay | None:
    """上午/早上/上班… → morning, 下午/午后… → afternoon; the earlier word wins when both occur."""
    text = normalise(text)
    morning, afternoon = _first_word(text, _MORNING_WORDS), _first_word(text, _AFTERNOON_WORDS)
    if morning is None and afternoon is None:
        return None
    if afternoon is None or (morning is not None and morning < afternoon):
        return "morning"
    return "afternoon"


def parse_clock(text: str) -> time | None:
    """A clock time: "9点", "九点半", "10:30", "下午3点" (15:00).

    Service halls open from about 8:30 to 17:00, so an unqualified 1 to 6 o'clock
    means the afternoon ("两点" is 14:00); 上午 keeps the morning reading.
    """
    text = normalise(text)
    matches = [m for m in (_COLON_CLOCK.search(text), _WORD_CLOCK.search(text)) if m is not None]
    if not matches:
        return None
    match = min(matches, key=lambda m: m.start())
    if match.re is _COLON_CLOCK:
        hour, minute = int(match.group(1)), int(match.group(2))
    else:
        hour_value = cn_number(match.group("digits") or match.group("hour"))
        if hour_value is None:
            return None
        hour = hour_value
        if match.group("half"):
            minute = 30
        elif match.group("quarter"):
            minute = 15 if match.group("quarter") == "一刻" else 45
        elif match.group("minute"):
            minute_value = cn_number(match.group("minute"))
            if minute_value is None:
                return None
            minute = minute_value
        else:
            minute = 0
    part = parse_part_of_day(text)
    evening = _first_word(text, _EVENING_WORDS) is not None
    if hour < 12 and (part == "afternoon" or (part is None and (evening or 1 <= hour <= 6))):
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


def weekday_name(day: date) -> str:
    """``date(2026, 11, 25)`` → ``"周三"``."""
    return WEEKDAY_NAMES[day.weekday()]


def format_day(day: date) -> str:
    """``date(2026, 11, 25)`` → ``"11月25日（周三）"``, the way a booking is read back to a citizen."""
    return f"{day.month}月{day.day}日（{weekday_name(day)}）"
