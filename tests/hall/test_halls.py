"""Hall calendars: weekly slots, holidays and 调休 workdays, and the halls file."""

import json
from datetime import date, time

import pytest

from hall.errors import HallDataError
from hall.halls import Hall, TimeSlot, load_halls, parse_halls
from hall.seed import DEMO_HALLS
from tests.hall.conftest import AFTERNOON, MORNING, hall_json, write_halls


@pytest.fixture
def hall() -> Hall:
    return Hall.from_json(hall_json())


def test_time_slot_labels_round_trip():
    slot = TimeSlot.parse("9:00 - 10:00")
    assert (slot.start, slot.end, slot.label) == (time(9), time(10), "09:00-10:00")
    assert slot.part_of_day == "morning" and TimeSlot.parse("13:30-14:00").part_of_day == "afternoon"
    assert slot.contains(time(9, 59)) and not slot.contains(time(10))
    with pytest.raises(ValueError):
        TimeSlot.parse("10:00-09:00")
    with pytest.raises(ValueError):
        TimeSlot.parse("上午")


def test_slots_on_weekdays_weekends_holidays_and_extra_workdays(hall):
    assert [s.label for s in hall.slots_on(date(2026, 11, 25))] == MORNING + AFTERNOON  # Wednesday
    assert [s.label for s in hall.slots_on(date(2026, 11, 28))] == MORNING  # Saturday
    assert hall.slots_on(date(2026, 11, 29)) == [] and not hall.is_open(date(2026, 11, 29))  # Sunday
    assert hall.slots_on(date(2026, 12, 1)) == []  # a closed Tuesday
    assert [s.label for s in hall.slots_on(date(2026, 12, 6))] == MORNING + AFTERNOON  # Sunday worked as Monday
    assert [s.label for s in hall.slots_on(date(2026, 11, 25), "afternoon")] == AFTERNOON


def test_find_slot(hall):
    wednesday = date(2026, 11, 25)
    assert hall.find_slot(wednesday, "09:00-10:00").label == "09:00-10:00"
    assert hall.find_slot(wednesday, "9:00-10:00").label == "09:00-10:00"
    assert hall.find_slot(wednesday, "九点半").label == "09:00-10:00"
    assert hall.find_slot(wednesday, "下午两点").label == "14:00-15:00"
    assert hall.find_slot(wednesday, "13:45").label == "13:30-14:00"
    assert hall.find_slot(wednesday, "12:30") is None  # lunch break
    assert hall.find_slot(wednesday, "08:00-09:00") is None
    assert hall.find_slot(date(2026, 11, 28), "下午3点") is None  # Saturday afternoon: closed
    assert hall.find_slot(wednesday, "随便") is None


def test_hall_json_round_trips(hall):
    again = Hall.from_json(json.loads(json.dumps(hall.to_json())))
    assert again == hall
    assert hall.to_json()["weekly"]["5"] == MORNING


def test_items_restrict_what_a_hall_offers():
    assert Hall.from_json(hall_json()).offers("ANY")
    restricted = Hall.from_json(hall_json(items=["T-JZ-001"]))
    assert restricted.offers("T-JZ-001") and not restricted.offers("T-SB-002")


def test_demo_halls_match_the_demo_knowledge_base():
    halls = {hall.code: hall for hall in load_halls(DEMO_HALLS)}
    assert {hall.district for hall in halls.values()} == {"青山区", "临江区", "东湖区", "江川市本级"}
    qingshan, linjiang, donghu, city = (halls[c] for c in ("JC-HALL-QS", "JC-HALL-LJ", "JC-HALL-DH", "JC-HALL-SJ"))
    wednesday, saturday = date(2026, 11, 25), date(2026, 11, 28)
    assert qingshan.address == "青山区长宁路88号" and not qingshan.is_open(saturday)
    assert linjiang.slots_on(wednesday)[0].label == "08:30-09:00"
    assert [s.label for s in donghu.slots_on(wednesday)][3:5] == ["12:00-13:00", "13:00-14:00"]  # no lunch break
    assert [s.label for s in city.slots_on(saturday)] == ["09:00-10:00", "10:00-11:00", "11:00-12:00"]
    for hall in halls.values():
        for slot in hall.slots_on(wednesday):
            assert 0 < (slot.end.hour * 60 + slot.end.minute) - (slot.start.hour * 60 + slot.start.minute) <= 60


@pytest.mark.parametrize(
    "day, open_",
    [
        (date(2026, 1, 1), False), (date(2026, 2, 16), False), (date(2026, 4, 6), False), (date(2026, 5, 5), False),
        (date(2026, 6, 19), False), (date(2026, 9, 25), False), (date(2026, 10, 7), False),
        (date(2026, 1, 4), True), (date(2026, 2, 14), True), (date(2026, 2, 28), True), (date(2026, 5, 9), True),
        (date(2026, 9, 20), True), (date(2026, 10, 10), True), (date(2026, 10, 8), True),
    ],
)
def test_demo_halls_follow_the_2026_holiday_calendar(day, open_):
    for hall in load_halls(DEMO_HALLS):
        assert hall.is_open(day) is open_, (hall.code, day)


def test_demo_file_says_it_must_be_kept_current():
    note = json.loads(DEMO_HALLS.read_text(encoding="utf-8"))["_note"]
    assert "2027" in note and "administrator" in note


def test_bad_hall_files_name_file_hall_and_field(tmp_path):
    path = write_halls(
        tmp_path / "bad.json",
        hall_json(),
        hall_json("T-BAD", capacity_per_slot=0, weekly={"7": MORNING, "0": ["09:00-10:00", "09:30-10:30"]}),
    )
    with pytest.raises(HallDataError) as caught:
        load_halls(path)
    message = str(caught.value)
    assert "bad.json: hall #1 (T-BAD): capacity_per_slot" in message
    assert "weekday 7" in message and "overlap" in message


def test_hall_files_refuse_broken_json_duplicates_and_unknown_fields(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"halls": [', encoding="utf-8")
    with pytest.raises(HallDataError, match=r"broken\.json: not valid JSON: line 1"):
        load_halls(broken)
    with pytest.raises(HallDataError, match="cannot read"):
        load_halls(tmp_path / "missing.json")
    with pytest.raises(HallDataError, match="appears twice"):
        parse_halls([hall_json(), hall_json()], "x.json")
    with pytest.raises(HallDataError, match=r"hall #0 \(T-HALL-A\): openning"):
        parse_halls([hall_json(openning="typo")], "x.json")
    with pytest.raises(HallDataError, match="both closed and extra workdays"):
        parse_halls([hall_json(extra_workdays={"2026-12-01": 0})], "x.json")
    with pytest.raises(HallDataError, match="expected a list of halls"):
        parse_halls({"hall": []}, "x.json")
