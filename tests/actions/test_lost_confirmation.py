"""A citizen whose "确认" booked but whose reply was lost gets the booking, with its reference, on the retry.

The API was killed while confirming: the booking was committed, the reply never
arrived, and the retry of "确认" used to get "好的。还有什么可以帮您？". The retry
meets a tracker with the booking action's events either kept (draft cleared) or
lost (draft still filled and confirmed); both must end with the reference shown.
"""

from __future__ import annotations

from datetime import timedelta

from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.appointment_form import ActionBookAppointment
from actions.booking_draft import FIELDS
from actions.booking_lookup import ActionShowRecentBooking
from actions.hall_provider import HallServices
from tests.actions.conftest import FILLED, NOW, PHONE, QINGSHAN_HALL, SENDER, TODAY, TOMORROW, make_tracker

CLEARED = dict.fromkeys(FIELDS)


def _run(action, tracker):
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, domain={})
    return dispatcher.messages, events


def _booked_and_reply_lost(engine_source, hall_services):
    """The first "确认": booked and committed; its messages and events never reach the citizen or the tracker."""
    _run(ActionBookAppointment(engine_source, hall_services), make_tracker("确认", "affirm", slots=FILLED))
    return hall_services.bookings.latest_of(SENDER)


def test_the_retry_after_a_kept_tracker_shows_the_booking_with_its_reference(engine_source, hall_services):
    booking = _booked_and_reply_lost(engine_source, hall_services)
    retry = make_tracker("确认", "affirm", slots=CLEARED)
    messages, events = _run(ActionShowRecentBooking(hall_services), retry)
    assert [m["text"] for m in messages] == [
        f"您的预约已成功，预约号：{booking.reference}\n11月26日（周四）10:00-11:00，青山区政务服务中心，居住证申领\n"
        "地址：青山区中山路1号\n预约人：王秀英，手机：138****5678\n"
        "在本对话中说“查询预约”可随时再看，换个地方查询需提供预约号和手机号。"
    ]
    assert PHONE not in messages[0]["text"]
    assert events == [SlotSet("own_booking", booking.reference)]


def test_the_retry_after_a_lost_tracker_confirms_again_and_gets_the_same_booking(engine_source, hall_services):
    booking = _booked_and_reply_lost(engine_source, hall_services)
    retry = make_tracker("确认", "affirm", slots=FILLED)
    messages, events = _run(ActionShowRecentBooking(hall_services), retry)
    assert messages == [] and events == [FollowupAction("action_book_appointment")]
    # what Rasa runs next: the repeated confirmation returns the booking already made (the slot has one place)
    messages, events = _run(ActionBookAppointment(engine_source, hall_services), retry)
    assert messages[0]["text"].startswith(f"预约成功！预约号：{booking.reference}\n")
    assert SlotSet("own_booking", booking.reference) in events
    assert [s.left for s in hall_services.bookings.open_slots(QINGSHAN_HALL, TOMORROW, TODAY)
            if s.slot.label == "10:00-11:00"] == [0]


def test_a_retry_while_the_form_still_waits_for_the_yes_gets_the_same_booking(engine_source, hall_services):
    """Rasa never saved the turn: the form still asks for the yes, and the form's own booking path repeats."""
    booking = _booked_and_reply_lost(engine_source, hall_services)
    messages, _ = _run(ActionBookAppointment(engine_source, hall_services), make_tracker("确认", "affirm", slots=FILLED))
    assert messages[0]["text"].startswith(f"预约成功！预约号：{booking.reference}\n")


def test_a_yes_with_no_recent_booking_of_this_conversation_is_a_plain_yes(engine_source, hall_services, store):
    plain = [FollowupAction("action_answer_item")]
    assert _run(ActionShowRecentBooking(hall_services), make_tracker("好的", "affirm")) == ([], plain)

    booking = _booked_and_reply_lost(engine_source, hall_services)
    other = make_tracker("好的", "affirm", sender_id="another-citizen")
    assert _run(ActionShowRecentBooking(hall_services), other) == ([], plain)

    later = HallServices(store.engine, lambda: NOW + timedelta(minutes=16), timedelta(minutes=30))
    assert _run(ActionShowRecentBooking(later), make_tracker("好的", "affirm")) == ([], plain)

    hall_services.bookings.cancel(booking.reference, PHONE, NOW, sender_id=SENDER)
    assert _run(ActionShowRecentBooking(hall_services), make_tracker("好的", "affirm")) == ([], plain)
