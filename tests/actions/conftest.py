"""Fixtures for the action server's actions: an engine over the test records, a hall with a fixed clock.

"Today" is Wednesday 25 November 2026 and "now" is 09:00 in Beijing, as in
tests/hall; the two halls are in 青山区 and 临江区, the districts the test items list.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk import Tracker

from actions.hall_provider import HallServices
from hall.seed import seed_halls
from index.engine import RetrievalEngine
from index.live import StaticEngine
from tests.conftest import HASHING_POLICY

BEIJING = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=BEIJING)  # a Wednesday
TODAY = NOW.date()
TOMORROW = date(2026, 11, 26)
SENDER = "test-sender"

MORNING = ["09:00-10:00", "10:00-11:00", "11:00-12:00"]
AFTERNOON = ["13:30-14:00", "14:00-15:00", "15:00-16:00", "16:00-17:00"]
QINGSHAN_HALL = "T-HALL-QS"
LINJIANG_HALL = "T-HALL-LJ"

# a booking form filled and confirmed: what a citizen has said when the booking is made
PHONE = "13812345678"
FILLED = {
    "appointment_item": "T-JZ-001",
    "appointment_hall": QINGSHAN_HALL,
    "appointment_date": TOMORROW.isoformat(),
    "appointment_slot": "10:00-11:00",
    "appointment_name": "王秀英",
    "appointment_phone": PHONE,
    "appointment_confirmed": "yes",
}


def hall_json(code: str, name: str, district: str, **changes: object) -> dict:
    """A hall open Monday to Friday, one place per slot (so a slot is easily filled)."""
    data: dict = {
        "code": code,
        "name": name,
        "district": district,
        "address": f"{district}中山路1号",
        "phone": "0799-80000000",
        "capacity_per_slot": 1,
        "booking_horizon_days": 14,
        "weekly": {str(day): MORNING + AFTERNOON for day in range(5)},
        "closed_dates": [],
        "extra_workdays": {},
    }
    data.update(changes)
    return data


def halls_data() -> list[dict]:
    return [
        # closed on Tuesday 1 December, as for a holiday
        hall_json(QINGSHAN_HALL, "青山区政务服务中心", "青山区", closed_dates=["2026-12-01"]),
        # also open on Saturday mornings
        hall_json(LINJIANG_HALL, "临江区政务服务中心", "临江区",
                  weekly={**{str(day): MORNING + AFTERNOON for day in range(5)}, "5": MORNING}),
    ]


@pytest.fixture
def hall_services(store, tmp_path: Path) -> HallServices:
    path = tmp_path / "halls.json"
    path.write_text(json.dumps({"halls": halls_data()}, ensure_ascii=False), encoding="utf-8")
    seed_halls(store.engine, path, NOW)
    return HallServices(store.engine, lambda: NOW, timedelta(minutes=30))


@pytest.fixture
def engine_source(hashing_embedder, seeded_store, tmp_path):
    engine = RetrievalEngine(hashing_embedder, HASHING_POLICY, jieba_cache=tmp_path / "jieba")
    engine.load(seeded_store.published(), seeded_store.revision(), seeded_store.content_hash())
    return StaticEngine(engine)


def make_tracker(
    text: str, intent: str, slots: dict | None = None, entities: list | None = None, *,
    events: list | None = None, active_loop: str | None = None, requested_slot: str | None = None,
    input_channel: str | None = None, sender_id: str = SENDER, metadata: dict | None = None,
) -> Tracker:
    """A tracker whose latest message is ``text``; ``events`` are the conversation so far.

    With ``input_channel`` the latest message is also appended as a user event from that
    channel (where rasa-sdk reads the channel from).
    """
    slots = dict(slots or {})
    if requested_slot is not None:
        slots["requested_slot"] = requested_slot
    events = list(events or [])
    if input_channel is not None:
        events.append(user_event(text, intent, input_channel))
    return Tracker(
        sender_id=sender_id,
        slots=slots,
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": entities or [],
                        **({"metadata": metadata} if metadata is not None else {})},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def user_event(text: str, intent: str = "inform", input_channel: str = "web") -> dict:
    return {"event": "user", "timestamp": None, "text": text, "parse_data": {"intent": {"name": intent}},
            "input_channel": input_channel}


def bot_event(text: str) -> dict:
    return {"event": "bot", "timestamp": None, "text": text, "data": {}}


def entity(name: str, value: str) -> dict:
    return {"entity": name, "value": value}


def slots_of(events: list[dict]) -> dict:
    """The slot values the events set, the last one winning (as on Rasa's tracker)."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
