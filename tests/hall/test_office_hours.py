"""A hand-over's reply time is promised within the halls' opening hours."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hall.halls import Hall
from hall.office_hours import reply_due

ZONE = ZoneInfo("Asia/Shanghai")
HALF_HOUR = timedelta(minutes=30)


def _hall(code: str, weekly: dict[str, list[str]], **changes) -> Hall:
    return Hall.from_json({"code": code, "name": code, "district": "青山区", "address": "中山路1号",
                           "phone": "0799-80000000", "capacity_per_slot": 1, "booking_horizon_days": 14,
                           "weekly": weekly, "closed_dates": [], "extra_workdays": {}, **changes})


WEEKDAYS = {str(d): ["09:00-12:00", "13:30-17:00"] for d in range(5)}
HALLS = [_hall("A", WEEKDAYS, closed_dates=["2026-12-04"]), _hall("B", {**WEEKDAYS, "5": ["09:00-12:00"]})]


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=ZONE)  # 2026-12-03 is a Thursday


def test_during_opening_hours_the_promise_is_plain():
    assert reply_due(at(3, 10), HALF_HOUR, HALLS) == at(3, 10, 30)


def test_at_night_it_is_due_after_the_next_opening():
    assert reply_due(at(3, 21), HALF_HOUR, HALLS) == at(4, 9, 30)  # hall A closed on the 4th, B open
    assert reply_due(at(5, 13), HALF_HOUR, HALLS) == at(7, 9, 30)  # Saturday afternoon: Monday


def test_office_time_left_before_a_break_is_spent_first():
    assert reply_due(at(3, 11, 50), HALF_HOUR, HALLS) == at(3, 13, 50)  # 10 minutes before lunch, 20 after


def test_without_halls_the_promise_is_plain_time():
    assert reply_due(at(3, 21), HALF_HOUR, []) == at(3, 21, 30)
