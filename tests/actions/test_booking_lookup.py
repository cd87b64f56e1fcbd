from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.booking_lookup import ActionBookingLookup, ValidateBookingLookupForm
from tests.actions.conftest import NOW, QINGSHAN_HALL, TODAY, TOMORROW, make_tracker, slots_of

PHONE = "13812345678"
NOT_FOUND = "没有找到与该预约号和手机号相符的预约，请核对后再试，或拨打12345咨询。"
LOOKUP_FORM = "booking_lookup_form"


def _run(action, tracker):
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, domain={})
    return dispatcher.messages, events


def _book(hall_services):
    return hall_services.bookings.book(
        sender_id="web-1", item_code="T-JZ-001", item_name="居住证申领", hall_code=QINGSHAN_HALL, day=TOMORROW,
        slot_label="10:00-11:00", name="王秀英", phone=PHONE, today=TODAY, now=NOW,
    )


def _lookup(hall_services, reference, phone, purpose="query", confirmed="yes"):
    slots = {"booking_reference": reference, "lookup_phone": phone, "lookup_purpose": purpose,
             "lookup_confirmed": confirmed}
    return _run(ActionBookingLookup(hall_services), make_tracker("", "inform", slots=slots))


def _places_left(hall_services) -> int:
    [slot] = [a for a in hall_services.bookings.open_slots(QINGSHAN_HALL, TOMORROW, TODAY) if a.slot.label == "10:00-11:00"]
    return slot.left


def test_query_shows_the_booking_with_the_phone_masked(hall_services):
    booking = _book(hall_services)
    messages, events = _lookup(hall_services, booking.reference, PHONE)
    text = messages[0]["text"]
    assert text == (f"预约 {booking.reference}（有效）：11月26日（周四）10:00-11:00，青山区政务服务中心，居住证申领，"
                    "预约人王秀英，手机138****5678。")
    assert messages[0]["buttons"] == [{"title": "取消这个预约", "payload": "/cancel_appointment"}]
    # reference and phone stay, so that "取消这个预约" needs neither again
    assert slots_of(events) == {"booking_reference": booking.reference, "lookup_phone": PHONE, "lookup_purpose": None,
                                "lookup_confirmed": None}


def test_wrong_phone_reads_exactly_like_an_unknown_reference(hall_services):
    booking = _book(hall_services)
    wrong_phone, _ = _lookup(hall_services, booking.reference, "13900001111")
    unknown, _ = _lookup(hall_services, "YY9Z9Z9Z", PHONE)
    assert wrong_phone[0]["text"] == unknown[0]["text"] == NOT_FOUND
    assert booking.reference not in wrong_phone[0]["text"]


def test_cancelling_frees_the_place_and_a_second_cancel_says_so(hall_services):
    booking = _book(hall_services)
    assert _places_left(hall_services) == 0

    messages, events = _lookup(hall_services, booking.reference, PHONE, "cancel")
    assert messages[0]["text"] == (f"已取消预约 {booking.reference}：11月26日（周四）10:00-11:00，青山区政务服务中心，"
                                   "居住证申领。名额已释放，欢迎另约时间。")
    assert events == [SlotSet("booking_reference", None), SlotSet("lookup_phone", None), SlotSet("lookup_purpose", None),
                      SlotSet("lookup_confirmed", None)]
    assert _places_left(hall_services) == 1
    assert hall_services.bookings.find(booking.reference, PHONE).cancelled

    messages, _ = _lookup(hall_services, booking.reference, PHONE, "cancel")
    assert messages[0]["text"] == f"预约 {booking.reference} 之前已经取消，无需再次取消。"
    assert _places_left(hall_services) == 1

    # a query afterwards shows it as cancelled, without the cancel button
    messages, _ = _lookup(hall_services, booking.reference, PHONE)
    assert f"预约 {booking.reference}（已取消）" in messages[0]["text"] and not messages[0].get("buttons")


def test_cancel_with_the_wrong_phone_keeps_the_booking(hall_services):
    booking = _book(hall_services)
    messages, _ = _lookup(hall_services, booking.reference, "13900001111", "cancel")
    assert messages[0]["text"] == NOT_FOUND
    assert not hall_services.bookings.find(booking.reference, PHONE).cancelled and _places_left(hall_services) == 0


def test_validation_reads_a_lowercase_reference_and_a_spaced_phone():
    tracker = make_tracker("预约号yy7k3m9p，手机 139 1234 5678", "query_appointment")
    messages, events = _run(ValidateBookingLookupForm(), tracker)
    assert messages == []
    assert events == [SlotSet("booking_reference", "YY7K3M9P"), SlotSet("lookup_phone", "13912345678")]


def test_validation_asks_again_for_what_was_requested():
    tracker = make_tracker("不记得了", "inform", active_loop=LOOKUP_FORM, requested_slot="booking_reference")
    messages, events = _run(ValidateBookingLookupForm(), tracker)
    assert [m["text"] for m in messages] == ["预约号以 YY 开头，共8位，例如 YY7K3M9P，请再输入一次。"]
    assert events == [SlotSet("booking_reference", None)]

    tracker = make_tracker("139123", "inform", active_loop=LOOKUP_FORM, requested_slot="lookup_phone")
    messages, events = _run(ValidateBookingLookupForm(), tracker)
    assert [m["text"] for m in messages] == ["请输入预约时填写的11位手机号码。"]
    assert events == [SlotSet("lookup_phone", None)]


def test_validation_steps_aside_for_another_question():
    tracker = make_tracker("转人工", "request_human", active_loop=LOOKUP_FORM, requested_slot="booking_reference")
    messages, events = _run(ValidateBookingLookupForm(), tracker)
    assert messages == [] and events == []


def _slot_event(name, value):
    return {"event": "slot", "timestamp": None, "name": name, "value": value}


def test_a_reference_read_as_a_query_does_not_turn_a_cancellation_into_a_query():
    """“我想取消预约”, then “yy8q36xw”, which the NLU may take for query_appointment: still a cancellation."""
    from tests.actions.conftest import bot_event, user_event

    events = [user_event("我想取消预约", "cancel_appointment"), _slot_event("lookup_purpose", "cancel"),
              bot_event("请提供预约号"), user_event("yy8q36xw", "query_appointment"),
              _slot_event("lookup_purpose", "query")]
    tracker = make_tracker("yy8q36xw", "query_appointment", slots={"lookup_purpose": "query"}, events=events,
                           active_loop=LOOKUP_FORM, requested_slot="booking_reference")
    _, produced = _run(ValidateBookingLookupForm(), tracker)
    assert produced == [SlotSet("booking_reference", "YY8Q36XW"), SlotSet("lookup_purpose", "cancel")]


def test_a_citizen_who_changes_their_mind_in_words_is_followed():
    from tests.actions.conftest import bot_event, user_event

    events = [user_event("我想取消预约", "cancel_appointment"), _slot_event("lookup_purpose", "cancel"),
              bot_event("请提供预约号"), user_event("算了，我只是想查一下", "query_appointment"),
              _slot_event("lookup_purpose", "query")]
    tracker = make_tracker("算了，我只是想查一下", "query_appointment", slots={"lookup_purpose": "query"},
                           events=events, active_loop=LOOKUP_FORM, requested_slot="booking_reference")
    _, produced = _run(ValidateBookingLookupForm(), tracker)
    assert SlotSet("lookup_purpose", "cancel") not in produced
