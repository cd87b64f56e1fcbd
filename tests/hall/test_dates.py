"""Chinese dates and clock times, against a fixed "today": Wednesday 25 November 2026."""

from datetime import date, time

import pytest

from hall.dates import cn_number, format_day, parse_clock, parse_date, parse_part_of_day, weekday_name
from tests.hall.conftest import TODAY


@pytest.mark.parametrize(
    "text, expected",
    [
        ("今天", date(2026, 11, 25)),
        ("今日能办吗", date(2026, 11, 25)),
        ("明天上午", date(2026, 11, 26)),
        ("明日", date(2026, 11, 26)),
        ("后天", date(2026, 11, 27)),
        ("大后天下午", date(2026, 11, 28)),
        # a bare weekday is the next one, today when today is that day
        ("周三", date(2026, 11, 25)),
        ("周四", date(2026, 11, 26)),
        ("周一", date(2026, 11, 30)),
        ("星期一", date(2026, 11, 30)),
        ("星期天", date(2026, 11, 29)),
        ("星期日", date(2026, 11, 29)),
        ("礼拜五", date(2026, 11, 27)),
        ("礼拜天", date(2026, 11, 29)),
        ("周日", date(2026, 11, 29)),
        # this week runs Monday 23 to Sunday 29 November
        ("这周一", date(2026, 11, 23)),
        ("本周五", date(2026, 11, 27)),
        ("这个星期六", date(2026, 11, 28)),
        ("下周三", date(2026, 12, 2)),
        ("下周一", date(2026, 11, 30)),
        ("下星期天", date(2026, 12, 6)),
        ("下个礼拜二", date(2026, 12, 1)),
        ("下下周五", date(2026, 12, 11)),
        ("11月26日", date(2026, 11, 26)),
        ("11月27号上午", date(2026, 11, 27)),
        ("11月24号", date(2027, 11, 24)),  # already past this year
        ("1月5日", date(2027, 1, 5)),
        ("十一月二十五号", date(2026, 11, 25)),
        ("十二月一日", date(2026, 12, 1)),
        ("25号", date(2026, 11, 25)),
        ("30号", date(2026, 11, 30)),
        ("24号", date(2026, 12, 24)),  # past this month: next month
        ("31号", date(2026, 12, 31)),  # November has no 31st
        ("二十号", date(2026, 12, 20)),
        ("廿八日", date(2026, 11, 28)),
        ("2026-12-03", date(2026, 12, 3)),
        ("2026/12/3", date(2026, 12, 3)),
        ("2026年12月3日", date(2026, 12, 3)),
        ("２０２６年１２月３日", date(2026, 12, 3)),  # full-width digits
        ("2025-01-02", date(2025, 1, 2)),  # an explicit year is taken as written, past or not
        ("我想约明天或者后天", date(2026, 11, 26)),  # the earlier expression wins
    ],
)
def test_parse_date(text, expected):
    assert parse_date(text, TODAY) == expected


@pytest.mark.parametrize(
    "text",
    ["", "居住证怎么办", "3号窗口在哪", "坐1号线过去", "三日内办结", "每周三有吗", "一周一次", "2月30日", "13月2日", "2026-02-30"],
)
def test_parse_date_finds_nothing(text):
    assert parse_date(text, TODAY) is None


def test_parse_date_on_the_last_day_of_a_month():
    assert parse_date("1号", date(2026, 1, 31)) == date(2026, 2, 1)
    assert parse_date("30号", date(2026, 1, 31)) == date(2026, 3, 30)
    assert parse_date("2月29日", date(2026, 3, 1)) == date(2028, 2, 29)
    assert parse_date("下周一", date(2026, 11, 29)) == date(2026, 11, 30)  # Sunday: next week starts tomorrow


@pytest.mark.parametrize(
    "text, expected",
    [
        ("明天上午", "morning"), ("早上九点", "morning"), ("早晨", "morning"), ("一上班就去", "morning"),
        ("中午前到", "morning"), ("下午", "afternoon"), ("午后两点", "afternoon"), ("随便", None),
        ("上午不行下午可以", "morning"), ("下午或者上午", "afternoon"),
    ],
)
def test_parse_part_of_day(text, expected):
    assert parse_part_of_day(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("9点", time(9)), ("九点半", time(9, 30)), ("10:30", time(10, 30)), ("10：30", time(10, 30)),
        ("下午3点", time(15)), ("两点", time(14)), ("一点", time(13)), ("上午10点", time(10)),
        ("十点一刻", time(10, 15)), ("下午两点半", time(14, 30)), ("9点30分", time(9, 30)),
        ("10时", time(10)), ("十二点", time(12)), ("明天8点半", time(8, 30)), ("3:30", time(15, 30)),
        ("上午11:00", time(11)), ("１０点", time(10)),
    ],
)
def test_parse_clock(text, expected):
    assert parse_clock(text) == expected


@pytest.mark.parametrize("text", ["", "快一点", "早一点去", "有一点问题", "一点点", "25号", "25点", "10:75"])
def test_parse_clock_finds_nothing(text):
    assert parse_clock(text) is None


def test_chinese_numbers():
    assert [cn_number(t) for t in ("25", "十", "十一", "二十", "二十五", "三十一", "两", "廿五", "二〇二六")] == [
        25, 10, 11, 20, 25, 31, 2, 25, 2026,
    ]
    assert cn_number("十十") is None and cn_number("") is None and cn_number("abc") is None


def test_formatting():
    assert weekday_name(date(2026, 11, 25)) == "周三"
    assert weekday_name(date(2026, 11, 29)) == "周日"
    assert format_day(date(2026, 11, 25)) == "11月25日（周三）"
