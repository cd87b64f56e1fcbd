"""How one citizen turn fills, changes or refuses the appointment draft: pure, no Rasa, no database.

The calendar is that of tests/actions/conftest.py: today is Wednesday 25 November
2026, 09:00. 青山区's hall is open Monday to Friday; 临江区's also on Saturday mornings.
"""

from __future__ import annotations

from datetime import date

import pytest

from actions.booking_draft import TIME_HINT, DraftContext, ItemChoice, Message, read_turn
from hall.bookings import SlotAvailability
from hall.dates import format_day
from hall.errors import BookingRefused, HallNotFound
from hall.halls import Hall
from tests.actions.conftest import LINJIANG_HALL, NOW, QINGSHAN_HALL, TODAY, TOMORROW, halls_data
from tests.conftest import make_item

FRIDAY = date(2026, 11, 27)
SUNDAY = date(2026, 11, 29)
ITEMS = {
    "T-JZ-001": make_item(),
    "T-SFZ-003": make_item("T-SFZ-003", "居民身份证补领", situations=[]),
}
# what retrieval makes of a text, reduced to the words that matter here
NAMES = {"居住证": "T-JZ-001", "身份证": "T-SFZ-003"}


class FakeHall:
    """The context ``read_turn`` needs, over two halls and a set of full slots."""

    def __init__(self, halls: list[Hall] | None = None):
        self.halls = halls or [Hall.model_validate(data) for data in halls_data()]
        self.full: set[tuple[str, date, str]] = set()

    def open_slots(self, hall_code: str, day: date) -> list[SlotAvailability]:
        hall = next((h for h in self.halls if h.code == hall_code), None)
        if hall is None:
            raise HallNotFound(hall_code)
        if day < TODAY:
            raise BookingRefused("past_date", "这一天已经过去了，请选择今天或以后的日期。")
        if not hall.is_open(day):
            raise BookingRefused("hall_closed", f"{hall.name}{format_day(day)}不办公，请换一个工作日。")
        return [
            SlotAvailability(slot=s, capacity=1, left=0 if (hall_code, day, s.label) in self.full else 1)
            for s in hall.slots_on(day)
        ]

    def context(self, current_item: str | None = None) -> DraftContext:
        return DraftContext(
            today=TODAY, now=NOW, halls=self.halls, item=ITEMS.get, find_item=find_item,
            open_slots=self.open_slots, current_item=current_item,
        )


def find_item(text: str) -> ItemChoice:
    codes = [code for word, code in NAMES.items() if word in text]
    if len(codes) == 1:
        return ItemChoice(code=codes[0])
    return ItemChoice(choices=[(code, ITEMS[code].name) for code in codes])


@pytest.fixture
def hall() -> FakeHall:
    return FakeHall()


def say(text: str, intent: str = "inform", **entities: str) -> Message:
    return Message(text=text, intent=intent, entities=entities)


DRAFTED = {  # everything but the confirmation: Thursday 10:00 at 青山区
    "appointment_item": "T-JZ-001",
    "appointment_hall": QINGSHAN_HALL,
    "appointment_date": TOMORROW.isoformat(),
    "appointment_slot": "10:00-11:00",
    "appointment_name": "王秀英",
    "appointment_phone": "13812345678",
    "appointment_confirmed": None,
}


# ---- filling ----------------------------------------------------------------------------


def test_everything_said_at_once_fills_item_hall_date_and_slot(hall):
    message = say("帮我预约明天上午10点去青山区办居住证", "book_appointment",
                  date="明天", time="上午10点", district="青山区")
    outcome = read_turn({}, None, message, hall.context())
    assert outcome.updates == {
        "appointment_item": "T-JZ-001",
        "appointment_hall": QINGSHAN_HALL,
        "appointment_date": "2026-11-26",
        "appointment_slot": "10:00-11:00",
        TIME_HINT: None,
    }
    assert outcome.notes == []


def test_item_under_discussion_is_taken_when_the_booking_names_none(hall):
    outcome = read_turn({}, None, say("我想预约", "book_appointment"), hall.context(current_item="T-SFZ-003"))
    assert outcome.updates == {"appointment_item": "T-SFZ-003"}


def test_ambiguous_item_offers_buttons(hall):
    outcome = read_turn({}, "appointment_item", say("居住证还是身份证"), hall.context())
    assert outcome.updates == {"appointment_item": None}
    assert outcome.notes == ["您要预约办理的是哪一项？请点选："]
    assert [b["payload"] for b in outcome.buttons] == [
        '/inform{"item_code":"T-JZ-001"}', '/inform{"item_code":"T-SFZ-003"}',
    ]


def test_hall_named_by_its_district_in_plain_text(hall):
    values = {"appointment_item": "T-JZ-001"}
    assert read_turn(values, "appointment_hall", say("临江"), hall.context()).updates == {
        "appointment_hall": LINJIANG_HALL,
    }


# ---- refusing -----------------------------------------------------------------------------


def test_sunday_is_refused_for_a_hall_closed_on_sundays(hall):
    values = {"appointment_item": "T-JZ-001", "appointment_hall": QINGSHAN_HALL}
    outcome = read_turn(values, "appointment_date", say("这周日", date="这周日"), hall.context())
    assert outcome.updates == {"appointment_date": None}
    assert outcome.notes == [f"青山区政务服务中心{format_day(SUNDAY)}不办公，请换一个工作日。"]


def test_past_date_is_refused(hall):
    values = {"appointment_item": "T-JZ-001", "appointment_hall": QINGSHAN_HALL}
    outcome = read_turn(values, "appointment_date", say("昨天"), hall.context())
    assert outcome.updates == {"appointment_date": None}
    assert outcome.notes == ["这一天已经过去了，请选择今天或以后的日期。"]


def test_full_slot_is_refused_and_asked_again(hall):
    hall.full.add((QINGSHAN_HALL, TOMORROW, "10:00-11:00"))
    values = {**DRAFTED, "appointment_slot": None}
    outcome = read_turn(values, "appointment_slot", say("10点", time="10点"), hall.context())
    assert outcome.updates["appointment_slot"] is None
    assert outcome.notes == [f"{format_day(TOMORROW)}10:00没有可预约的时段，请从下面的时段中选择。"]

    # a slot chosen earlier that has filled up since is dropped with the reason
    outcome = read_turn(DRAFTED, "appointment_name", say("我叫王秀英"), hall.context())
    assert outcome.updates["appointment_slot"] is None
    assert outcome.notes == [f"{format_day(TOMORROW)}10:00-11:00已约满或不可预约，请换一个时段。"]


def test_a_full_day_is_refused(hall):
    for slot in halls_data()[0]["weekly"]["3"]:
        hall.full.add((QINGSHAN_HALL, TOMORROW, slot))
    values = {"appointment_item": "T-JZ-001", "appointment_hall": QINGSHAN_HALL}
    outcome = read_turn(values, "appointment_date", say("明天", date="明天"), hall.context())
    assert outcome.updates["appointment_date"] is None
    assert outcome.notes == [f"{format_day(TOMORROW)}已经约满或已过办公时间，请换一天。"]


# ---- part of the day --------------------------------------------------------------------


def test_a_part_of_the_day_with_several_open_slots_leaves_the_slot_to_be_asked(hall):
    values = {**DRAFTED, "appointment_slot": None}
    outcome = read_turn(values, "appointment_slot", say("上午", time="上午"), hall.context())
    assert outcome.updates.get("appointment_slot") is None
    assert outcome.updates[TIME_HINT] == "上午"  # kept, so that the morning is still meant once a slot is asked
    assert outcome.notes == []

    # moved to a day with one morning place left, the morning kept from before picks it
    hall.full |= {(QINGSHAN_HALL, FRIDAY, "09:00-10:00"), (QINGSHAN_HALL, FRIDAY, "10:00-11:00")}
    moved = read_turn(values | outcome.updates, "appointment_slot", say("改成后天", date="后天"), hall.context())
    assert moved.updates["appointment_date"] == FRIDAY.isoformat()
    assert moved.updates["appointment_slot"] == "11:00-12:00"
    assert moved.notes == []  # nothing asked: the form goes on to the name


def test_a_reply_that_is_no_time_is_told_so_even_with_a_part_of_the_day_held(hall):
    values = {**DRAFTED, "appointment_slot": None}
    held = read_turn(values, "appointment_slot", say("上午", time="上午"), hall.context())
    values |= held.updates
    outcome = read_turn(values, "appointment_slot", say("周建军"), hall.context())
    assert outcome.updates.get("appointment_slot") is None
    assert outcome.notes == ["请点选一个时段，或说“上午10点”“下午3点”。"]
    assert outcome.updates[TIME_HINT] == "上午"  # the morning still narrows the list asked again


def test_a_part_of_the_day_with_one_open_slot_fills_it(hall):
    hall.full |= {(QINGSHAN_HALL, TOMORROW, "09:00-10:00"), (QINGSHAN_HALL, TOMORROW, "11:00-12:00")}
    values = {**DRAFTED, "appointment_slot": None}
    outcome = read_turn(values, "appointment_slot", say("上午", time="上午"), hall.context())
    assert outcome.updates == {"appointment_slot": "10:00-11:00", TIME_HINT: None}


def test_a_time_said_before_the_day_is_known_waits_for_it(hall):
    values = {"appointment_item": "T-JZ-001", "appointment_hall": QINGSHAN_HALL}
    first = read_turn(values, "appointment_date", say("下午3点", time="下午3点"), hall.context())
    assert first.updates == {TIME_HINT: "下午3点", "appointment_date": None}  # the date is still asked
    assert first.notes[0].startswith("没听清日期")
    values |= first.updates
    second = read_turn(values, "appointment_date", say("周五", date="周五"), hall.context())
    assert second.updates == {"appointment_date": FRIDAY.isoformat(), "appointment_slot": "15:00-16:00", TIME_HINT: None}


# ---- name, phone, confirmation ----------------------------------------------------------


@pytest.mark.parametrize("text", ["我叫王秀英", "我的名字是王秀英", "姓名：王秀英", "王秀英。"])
def test_name_is_read_without_its_prefix(hall, text):
    values = {**DRAFTED, "appointment_name": None}
    outcome = read_turn(values, "appointment_name", say(text), hall.context())
    assert outcome.updates == {"appointment_name": "王秀英"}


def test_name_with_digits_is_asked_again(hall):
    values = {**DRAFTED, "appointment_name": None}
    outcome = read_turn(values, "appointment_name", say("王秀英123"), hall.context())
    assert outcome.updates == {"appointment_name": None}
    assert outcome.notes == ["请告诉我预约人的姓名（2到20个字，不含数字）。"]


@pytest.mark.parametrize("text", ["1381234567", "23812345678", "我没有手机"])
def test_invalid_phone_is_asked_again(hall, text):
    values = {**DRAFTED, "appointment_phone": None}
    outcome = read_turn(values, "appointment_phone", say(text), hall.context())
    assert outcome.updates == {"appointment_phone": None}
    assert outcome.notes == ["请填写11位的中国大陆手机号码，用于接收预约提醒。"]


def test_phone_written_with_spaces_is_normalised(hall):
    values = {**DRAFTED, "appointment_phone": None}
    outcome = read_turn(values, "appointment_phone", say("+86 139 1234 5678"), hall.context())
    assert outcome.updates == {"appointment_phone": "13912345678"}


def test_affirm_at_the_confirmation_confirms(hall):
    outcome = read_turn(DRAFTED, "appointment_confirmed", say("对", "affirm"), hall.context())
    assert outcome.updates == {"appointment_confirmed": "yes"}


def test_deny_at_the_confirmation_asks_what_to_change(hall):
    outcome = read_turn(DRAFTED, "appointment_confirmed", say("不对", "deny"), hall.context())
    assert outcome.updates == {"appointment_confirmed": None}
    assert len(outcome.notes) == 1 and outcome.notes[0].startswith("请告诉我要改哪一项")


def test_a_change_at_the_confirmation_unconfirms_and_resets_the_slot(hall):
    message = say("可以，不过改成后天下午", "affirm", date="后天", time="下午")
    outcome = read_turn(DRAFTED, "appointment_confirmed", message, hall.context())
    assert outcome.updates["appointment_date"] == FRIDAY.isoformat()
    assert outcome.updates["appointment_slot"] is None  # four afternoon slots: the citizen chooses
    assert outcome.updates["appointment_confirmed"] is None
    assert set(outcome.updates) <= {"appointment_date", "appointment_slot", "appointment_confirmed", TIME_HINT}


def test_a_change_after_deny_moves_the_day_and_keeps_the_part_of_day(hall):
    message = say("改成后天下午", date="后天", time="下午")
    outcome = read_turn(DRAFTED, "appointment_confirmed", message, hall.context())
    assert outcome.updates == {"appointment_date": FRIDAY.isoformat(), "appointment_slot": None, TIME_HINT: "下午"}
    assert outcome.notes == []


def test_a_new_name_at_the_confirmation_replaces_the_old(hall):
    outcome = read_turn(DRAFTED, "appointment_confirmed", say("名字改成李雷"), hall.context())
    assert outcome.updates == {"appointment_name": "李雷"}


# ---- stepping aside ---------------------------------------------------------------------


@pytest.mark.parametrize("intent, text", [("ask_fee", "要交钱吗"), ("request_human", "转人工"), ("stop", "不约了")])
def test_another_question_with_nothing_filled_gives_no_updates(hall, intent, text):
    values = {"appointment_item": "T-JZ-001", "appointment_hall": QINGSHAN_HALL}
    outcome = read_turn(values, "appointment_date", say(text, intent), hall.context())
    assert outcome.updates == {} and outcome.notes == []


def test_nonsense_is_answered_with_not_understood(hall):
    values = {"appointment_item": "T-JZ-001", "appointment_hall": QINGSHAN_HALL}
    outcome = read_turn(values, "appointment_hall", say("嗯嗯"), hall.context())
    assert outcome.updates == {"appointment_hall": None}
    assert outcome.notes == ["抱歉，没听明白。"]


def test_changing_the_item_keeps_a_hall_that_takes_it(hall):
    """"去南关办分户" said before the item was settled: the hall named stays once the item is known."""
    message = Message(text='/inform{"item_code":"T-SFZ-003"}', intent="inform", entities={"item_code": "T-SFZ-003"})
    outcome = read_turn({**DRAFTED, "appointment_confirmed": "yes"}, "appointment_confirmed", message, hall.context())
    assert outcome.updates == {"appointment_item": "T-SFZ-003", "appointment_confirmed": None}


def test_changing_to_an_item_one_hall_offers_moves_to_that_hall():
    data = halls_data()
    data[0]["items"] = ["T-JZ-001"]  # 青山区 takes only 居住证
    hall = FakeHall([Hall.model_validate(d) for d in data])
    message = Message(text='/inform{"item_code":"T-SFZ-003"}', intent="inform", entities={"item_code": "T-SFZ-003"})
    outcome = read_turn(DRAFTED, "appointment_confirmed", message, hall.context())
    assert outcome.updates == {"appointment_item": "T-SFZ-003", "appointment_hall": LINJIANG_HALL}


def test_a_district_whose_hall_does_not_take_the_item_is_refused():
    data = halls_data()
    data[0]["items"] = ["T-JZ-001"]
    hall = FakeHall([Hall.model_validate(d) for d in data])
    values = {"appointment_item": "T-SFZ-003"}
    outcome = read_turn(values, "appointment_hall", say("青山区", district="青山区"), hall.context())
    assert outcome.updates == {"appointment_hall": None}
    assert outcome.notes == ["青山区的大厅不受理这个事项，可以预约：临江区政务服务中心。"]
