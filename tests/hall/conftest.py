"""Fixtures for the hall package: a migrated database on each back end, and a small hall calendar.

The clock is fixed: "today" is Wednesday 25 November 2026 and "now" is 09:00 in
Beijing that day, so every date rule is tested against the same calendar.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from hall.bookings import BookingBook
from hall.seed import seed_halls
from hall.tickets import TicketDesk

BEIJING = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 25)  # a Wednesday
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=BEIJING)

THURSDAY = date(2026, 11, 26)

MORNING = ["09:00-10:00", "10:00-11:00", "11:00-12:00"]
AFTERNOON = ["13:30-14:00", "14:00-15:00", "15:00-16:00", "16:00-17:00"]


def hall_json(code: str = "T-HALL-A", **changes: object) -> dict:
    """A hall open Monday to Friday, Saturday mornings; closed on 1 December; Sunday 6 December worked as a Monday."""
    data: dict = {
        "code": code,
        "name": "测试区政务服务中心",
        "district": "测试区",
        "address": "测试区中山路1号",
        "phone": "0799-80000000",
        "capacity_per_slot": 2,
        "booking_horizon_days": 14,
        "weekly": {**{str(day): MORNING + AFTERNOON for day in range(5)}, "5": MORNING},
        "closed_dates": ["2026-12-01"],
        "extra_workdays": {"2026-12-06": 0},
    }
    data.update(changes)
    return data


def booking_request(**changes: object) -> dict:
    """Keyword arguments for ``BookingBook.book``: Thursday 09:00 at T-HALL-A, with ``changes`` applied."""
    data: dict = dict(
        sender_id="web-1", item_code="T-JZ-001", item_name="居住证申领", hall_code="T-HALL-A", day=THURSDAY,
        slot_label="09:00-10:00", name="张三", phone="138 1234 5678", today=TODAY, now=NOW,
    )
    data.update(changes)
    return data


def write_halls(path: Path, *halls: dict) -> Path:
    path.write_text(json.dumps({"_note": "test halls", "halls": list(halls)}, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def halls_file(tmp_path: Path) -> Path:
    return write_halls(
        tmp_path / "halls.json",
        hall_json(),
        hall_json("T-HALL-B", name="测试区第二服务中心", items=["T-JZ-001"]),
        hall_json("T-HALL-C", name="别区政务服务中心", district="别区"),
    )


@pytest.fixture
def bookings(engine: Engine, halls_file: Path) -> BookingBook:
    seed_halls(engine, halls_file, NOW)
    return BookingBook(engine)


@pytest.fixture
def desk(engine: Engine) -> TicketDesk:
    return TicketDesk(engine)
