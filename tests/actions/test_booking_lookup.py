from datetime import timedelta

from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.booking_lookup import ActionAskLookupConfirmed, ActionBookingLookup, ValidateBookingLookupForm
from actions.hall_provider import HallServices
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


def _lookup(hall_services, reference, phone, purpose="query", confirmed="yes", sender_id="test-sender"):
    slots = {"booking_reference": reference, "lookup_phone": phone, "lookup_purpose": purpose,
             "lookup_confirmed": confirmed}
    return _run(ActionBookingLookup(hall_services), make_tracker("", "inform", slots=slots, sender_id=sender_id))


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
    assert [m["text"] for m in messages] == ["预约号以 YY 开头，共12位（早先的预约号为8位），例如 YY7K3M9PQ4XZ，请再输入一次。"]
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


# ---- the lock on guessing --------------------------------------------------------------------------------------------

LOCKED = ("该预约号查询失败次数过多，为保护预约人信息，已暂停查询和取消。请在09:30以后再试，"
          "或拨打青山区政务服务中心电话0799-80000000办理。")


def _guess(hall_services, reference, times):
    """Wrong phones from a new conversation each time, as the tester did."""
    return [_lookup(hall_services, reference, f"1390000{n:04d}", sender_id=f"guesser-{n}")[0][0]["text"]
            for n in range(times)]


def test_five_wrong_phones_lock_the_reference_even_for_the_right_phone(hall_services):
    booking = _book(hall_services)
    assert _guess(hall_services, booking.reference, 5) == [NOT_FOUND] * 5
    messages, events = _lookup(hall_services, booking.reference, PHONE, sender_id="another-citizen")
    assert messages[0]["text"] == LOCKED and booking.reference not in messages[0]["text"]
    assert slots_of(events) == dict.fromkeys(("booking_reference", "lookup_phone", "lookup_purpose", "lookup_confirmed"))
    messages, _ = _lookup(hall_services, booking.reference, PHONE, "cancel", sender_id="another-citizen")
    assert messages[0]["text"] == LOCKED and _places_left(hall_services) == 0


def test_the_lock_ends_and_the_right_phone_finds_the_booking_again(hall_services, store):
    booking = _book(hall_services)
    _guess(hall_services, booking.reference, 5)
    later = HallServices(store.engine, lambda: NOW + timedelta(minutes=31), timedelta(minutes=30))
    messages, _ = _lookup(later, booking.reference, PHONE, sender_id="another-citizen")
    assert messages[0]["text"].startswith(f"预约 {booking.reference}（有效）")


def test_a_lock_of_an_unknown_reference_names_no_hall(hall_services):
    _guess(hall_services, "YYZZZZZZZZZZ", 5)
    messages, _ = _lookup(hall_services, "YYZZZZZZZZZZ", PHONE)
    assert messages[0]["text"] == ("该预约号查询失败次数过多，为保护预约人信息，已暂停查询和取消。请在09:30以后再试，"
                                   "或拨打办事大厅电话办理。")


def test_the_conversation_that_booked_still_sees_and_cancels_a_locked_booking(hall_services):
    """A stranger who locks the reference must not keep its owner from it: the sender id proves ownership."""
    booking = _book(hall_services)
    _guess(hall_services, booking.reference, 5)
    tracker = make_tracker("查询预约", "query_appointment", slots={"own_booking": booking.reference, "lookup_purpose": "query"},
                           sender_id="web-1")
    _, events = _run(ValidateBookingLookupForm(hall_services), tracker)
    assert slots_of(events) == {"booking_reference": booking.reference, "lookup_phone": PHONE, "lookup_confirmed": "yes"}
    messages, _ = _lookup(hall_services, booking.reference, PHONE, sender_id="web-1")
    assert messages[0]["text"].startswith(f"预约 {booking.reference}（有效）")
    confirm_slots = {"booking_reference": booking.reference, "lookup_phone": PHONE}
    messages, _ = _run(ActionAskLookupConfirmed(hall_services), make_tracker("", "cancel_appointment",
                                                                          slots=confirm_slots, sender_id="web-1"))
    assert messages[0]["text"].startswith(f"确认取消预约 {booking.reference}（11月26日")
    messages, _ = _lookup(hall_services, booking.reference, PHONE, "cancel", sender_id="web-1")
    assert messages[0]["text"].startswith(f"已取消预约 {booking.reference}") and _places_left(hall_services) == 1


def test_a_failed_query_forgets_the_reference_and_phone_so_asking_again_does_not_repeat_the_guess(hall_services):
    booking = _book(hall_services)
    _, events = _lookup(hall_services, booking.reference, "13900001111")
    assert slots_of(events) == dict.fromkeys(("booking_reference", "lookup_phone", "lookup_purpose", "lookup_confirmed"))


# ---- the conversation's own booking, without a reference --------------------------------------------------------------

def test_asking_in_the_conversation_that_booked_finds_the_booking_without_the_own_booking_slot(hall_services):
    """The slot is lost with the reply when a worker dies after the commit: the sender id finds the booking."""
    booking = _book(hall_services)
    tracker = make_tracker("查询预约", "query_appointment", slots={"lookup_purpose": "query"}, sender_id="web-1")
    messages, events = _run(ValidateBookingLookupForm(hall_services), tracker)
    assert messages == []
    slots = slots_of(events)
    assert slots == {"booking_reference": booking.reference, "lookup_phone": PHONE, "lookup_confirmed": "yes"}
    messages, _ = _lookup(hall_services, slots["booking_reference"], slots["lookup_phone"], sender_id="web-1")
    assert messages[0]["text"].startswith(f"预约 {booking.reference}（有效）：11月26日（周四）10:00-11:00")


def test_the_latest_booking_still_booked_is_the_one_found(hall_services):
    first = _book(hall_services)
    second = hall_services.bookings.book(
        sender_id="web-1", item_code="T-JZ-001", item_name="居住证申领", hall_code=QINGSHAN_HALL, day=TOMORROW,
        slot_label="11:00-12:00", name="王秀英", phone=PHONE, today=TODAY, now=NOW + timedelta(minutes=5),
    )
    tracker = make_tracker("查询预约", "query_appointment", slots={"lookup_purpose": "query"}, sender_id="web-1")
    assert slots_of(_run(ValidateBookingLookupForm(hall_services), tracker)[1])["booking_reference"] == second.reference
    hall_services.bookings.cancel(second.reference, PHONE, NOW)
    assert slots_of(_run(ValidateBookingLookupForm(hall_services), tracker)[1])["booking_reference"] == first.reference


def test_another_conversation_is_asked_for_the_reference(hall_services):
    _book(hall_services)
    tracker = make_tracker("查询预约", "query_appointment", slots={"lookup_purpose": "query"}, sender_id="web-2")
    _, events = _run(ValidateBookingLookupForm(hall_services), tracker)
    assert "booking_reference" not in slots_of(events) and "lookup_phone" not in slots_of(events)


def test_validation_reads_a_new_length_reference():
    tracker = make_tracker("预约号 yy7k3m9pq4xz 手机13912345678", "query_appointment")
    _, events = _run(ValidateBookingLookupForm(), tracker)
    assert events == [SlotSet("booking_reference", "YY7K3M9PQ4XZ"), SlotSet("lookup_phone", "13912345678")]
