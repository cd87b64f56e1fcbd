"""The appointment form's actions against a real hall book (SQLite) and the test records."""

from __future__ import annotations

import re
from datetime import date

from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.appointment_form import (
    FORM_NAME,
    ActionAskAppointmentConfirmed,
    ActionAskAppointmentDate,
    ActionAskAppointmentHall,
    ActionAskAppointmentSlot,
    ActionBookAppointment,
    ActionLeaveBooking,
    ValidateAppointmentForm,
)
from actions.booking_draft import FIELDS, TIME_HINT
from hall.tables import BookingRow
from tests.actions.conftest import (
    FILLED,
    LINJIANG_HALL,
    NOW,
    PHONE,
    QINGSHAN_HALL,
    SENDER,
    TODAY,
    TOMORROW,
    entity,
    make_tracker,
    slots_of,
)

ALL_CLEARED = {name: None for name in (*FIELDS, TIME_HINT)}


def _run(action, tracker):
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, domain={})
    return dispatcher.messages, events


def _book(hall_services, sender_id="someone-else", day=TOMORROW, slot="10:00-11:00", hall_code=QINGSHAN_HALL):
    return hall_services.bookings.book(
        sender_id=sender_id, item_code="T-JZ-001", item_name="居住证申领", hall_code=hall_code, day=day,
        slot_label=slot, name="张三", phone="13900001111", today=TODAY, now=NOW,
    )


# ---- validation -------------------------------------------------------------------------


def test_activation_prefills_from_the_message(engine_source, hall_services):
    tracker = make_tracker("帮我预约明天上午10点去青山区办居住证", "book_appointment", entities=[
        entity("date", "明天"), entity("time", "上午10点"), entity("district", "青山区"),
    ])
    messages, events = _run(ValidateAppointmentForm(engine_source, hall_services), tracker)
    assert messages == []
    assert slots_of(events) == ALL_CLEARED | {
        "appointment_item": "T-JZ-001",
        "appointment_hall": QINGSHAN_HALL,
        "appointment_date": "2026-11-26",
        "appointment_slot": "10:00-11:00",
    }


def test_activation_takes_the_item_under_discussion_and_clears_a_stale_draft(engine_source, hall_services):
    stale = {**FILLED, TIME_HINT: "下午", "item_code": "T-SFZ-003"}
    tracker = make_tracker("我想预约", "book_appointment", slots=stale)
    _, events = _run(ValidateAppointmentForm(engine_source, hall_services), tracker)
    assert slots_of(events) == ALL_CLEARED | {"appointment_item": "T-SFZ-003"}


def test_inside_the_form_only_what_the_turn_changes_is_set(engine_source, hall_services):
    draft = {**FILLED, "appointment_name": None, "appointment_phone": None, "appointment_confirmed": None}
    tracker = make_tracker("我叫李雷", "inform", slots=draft, active_loop=FORM_NAME, requested_slot="appointment_name")
    messages, events = _run(ValidateAppointmentForm(engine_source, hall_services), tracker)
    assert messages == [] and events == [SlotSet("appointment_name", "李雷")]


def test_refusal_is_said_before_the_question_is_asked_again(engine_source, hall_services):
    draft = {"appointment_item": "T-JZ-001", "appointment_hall": QINGSHAN_HALL}
    tracker = make_tracker("这周日", "inform", slots=draft, entities=[entity("date", "这周日")],
                           active_loop=FORM_NAME, requested_slot="appointment_date")
    messages, events = _run(ValidateAppointmentForm(engine_source, hall_services), tracker)
    assert [m["text"] for m in messages] == ["青山区政务服务中心11月29日（周日）不办公，请换一个工作日。"]
    assert events == [SlotSet("appointment_date", None)]


def test_a_question_inside_the_form_gives_no_events(engine_source, hall_services):
    draft = {"appointment_item": "T-JZ-001", "appointment_hall": QINGSHAN_HALL}
    tracker = make_tracker("居住证要交钱吗", "ask_fee", slots=draft, active_loop=FORM_NAME, requested_slot="appointment_date")
    messages, events = _run(ValidateAppointmentForm(engine_source, hall_services), tracker)
    assert messages == [] and events == []


# ---- questions --------------------------------------------------------------------------


def test_hall_question_offers_the_halls_that_take_the_item(engine_source, hall_services):
    tracker = make_tracker("我想预约", "book_appointment", slots={"appointment_item": "T-JZ-001"})
    messages, _ = _run(ActionAskAppointmentHall(engine_source, hall_services), tracker)
    assert messages[0]["text"] == "请问您想到哪个大厅办理【居住证申领】？"
    assert [b["payload"] for b in messages[0]["buttons"]] == ['/inform{"district":"临江区"}', '/inform{"district":"青山区"}']


def test_date_question_offers_only_open_days_with_places(engine_source, hall_services):
    for slot in ("09:00-10:00", "10:00-11:00", "11:00-12:00", "13:30-14:00", "14:00-15:00", "15:00-16:00", "16:00-17:00"):
        _book(hall_services, slot=slot)  # Thursday at 青山区 is fully booked
    tracker = make_tracker("", "inform", slots={"appointment_hall": QINGSHAN_HALL})
    messages, events = _run(ActionAskAppointmentDate(engine_source, hall_services), tracker)
    # not today, not Thursday (full), not the weekend, not Tuesday 1 December (closed)
    assert [b["title"] for b in messages[0]["buttons"]] == [
        "11月27日（周五）", "11月30日（周一）", "12月2日（周三）", "12月3日（周四）", "12月4日（周五）",
    ]
    assert messages[0]["buttons"][0]["payload"] == '/inform{"date":"2026-11-27"}'
    assert events == []

    # 临江区 is also open on Saturday mornings
    tracker = make_tracker("", "inform", slots={"appointment_hall": LINJIANG_HALL})
    titles = [b["title"] for b in _run(ActionAskAppointmentDate(engine_source, hall_services), tracker)[0][0]["buttons"]]
    assert titles == ["11月26日（周四）", "11月27日（周五）", "11月28日（周六）", "11月30日（周一）", "12月1日（周二）"]


def test_slot_question_shows_places_left_and_hides_full_slots(engine_source, hall_services):
    _book(hall_services, slot="10:00-11:00")
    tracker = make_tracker("", "inform", slots={"appointment_hall": QINGSHAN_HALL, "appointment_date": "2026-11-26"})
    messages, _ = _run(ActionAskAppointmentSlot(engine_source, hall_services), tracker)
    assert messages[0]["text"] == "11月26日（周四）可预约的时段如下，请选择（可回复序号）："
    labels = [b["payload"] for b in messages[0]["buttons"]]
    assert '/inform{"time":"10:00-11:00"}' not in labels and len(labels) == 6
    assert messages[0]["buttons"][0]["title"] == "09:00-10:00（余1）"


def test_slot_question_for_today_hides_slots_already_begun(engine_source, hall_services):
    tracker = make_tracker("", "inform", slots={"appointment_hall": QINGSHAN_HALL, "appointment_date": TODAY.isoformat()})
    messages, _ = _run(ActionAskAppointmentSlot(engine_source, hall_services), tracker)
    labels = [b["payload"] for b in messages[0]["buttons"]]
    assert labels[0] == '/inform{"time":"10:00-11:00"}' and len(labels) == 6  # 09:00-10:00 has begun at 09:00


def test_confirmation_shows_the_masked_phone_only(engine_source, hall_services):
    tracker = make_tracker("13812345678", "inform", slots={**FILLED, "appointment_confirmed": None})
    messages, _ = _run(ActionAskAppointmentConfirmed(engine_source, hall_services), tracker)
    text = messages[0]["text"]
    assert "事项：居住证申领" in text and "大厅：青山区政务服务中心（青山区中山路1号）" in text
    assert "时间：11月26日（周四） 10:00-11:00" in text and "预约人：王秀英" in text
    assert "138****5678" in text and PHONE not in text
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]


# ---- booking ----------------------------------------------------------------------------


def test_booking_takes_the_place_and_clears_the_form(engine_source, hall_services):
    messages, events = _run(ActionBookAppointment(engine_source, hall_services), make_tracker("确认", "affirm", slots=FILLED))
    text = messages[0]["text"]
    reference = re.search(r"预约号：(YY[2-9A-HJ-NP-Z]{10})\n", text).group(1)
    booking = hall_services.bookings.find(reference, PHONE)
    assert (booking.sender_id, booking.item_code, booking.hall_code, booking.day, booking.slot_label, booking.name) == (
        SENDER, "T-JZ-001", QINGSHAN_HALL, date(2026, 11, 26), "10:00-11:00", "王秀英",
    )
    assert "138****5678" in text and PHONE not in text
    assert "11月26日（周四）10:00-11:00，青山区政务服务中心，居住证申领" in text
    assert slots_of(events) == ALL_CLEARED | {"item_code": "T-JZ-001", "own_booking": reference}
    assert [s.left for s in hall_services.bookings.open_slots(QINGSHAN_HALL, TOMORROW, TODAY)
            if s.slot.label == "10:00-11:00"] == [0]


def test_slot_taken_before_the_confirmation_is_asked_again(engine_source, hall_services, store):
    _book(hall_services)  # someone else took 10:00 (one place per slot)
    messages, events = _run(ActionBookAppointment(engine_source, hall_services), make_tracker("确认", "affirm", slots=FILLED))
    assert [m["text"] for m in messages] == ["该时段已约满，请换一个时段。"]
    assert events == [SlotSet("appointment_slot", None), SlotSet("appointment_confirmed", None), FollowupAction(FORM_NAME)]
    with store.engine.connect() as connection:  # nothing was booked for this citizen
        senders = connection.execute(select(BookingRow.sender_id)).scalars().all()
    assert senders == ["someone-else"]


def test_day_that_cannot_be_booked_any_more_asks_for_another_day(engine_source, hall_services):
    past = {**FILLED, "appointment_date": "2026-11-24"}
    messages, events = _run(ActionBookAppointment(engine_source, hall_services), make_tracker("确认", "affirm", slots=past))
    assert messages[0]["text"] == "这一天已经过去了，请选择今天或以后的日期。"
    assert events == [SlotSet("appointment_date", None), SlotSet("appointment_confirmed", None), FollowupAction(FORM_NAME)]


def test_leaving_the_booking_clears_the_draft():
    messages, events = _run(ActionLeaveBooking(), make_tracker("不约了", "stop", slots=FILLED))
    assert messages[0]["text"].startswith("好的，已退出预约")
    assert slots_of(events) == ALL_CLEARED
