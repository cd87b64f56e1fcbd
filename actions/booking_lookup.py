"""Finding and cancelling a booking by its reference and the phone it was made with.

Both are asked for because a reference alone would let anyone who saw it
cancel someone else's appointment; the reply never shows the full phone.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.booking_draft import INTERRUPTIONS
from actions.hall_provider import HallServices, default_hall
from hall.errors import BookingAlreadyCancelled, BookingNotFound
from hall.privacy import find_mobile, normalise_phone

logger = logging.getLogger(__name__)

_REFERENCE = re.compile(r"YY[0-9A-Z]{6}", re.IGNORECASE)
LOOKUP_SLOTS = ("booking_reference", "lookup_phone", "lookup_purpose")


class ValidateBookingLookupForm(Action):
    def name(self) -> str:
        return "validate_booking_lookup_form"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        text = (tracker.latest_message.get("text") or "").strip()
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        requested = tracker.get_slot("requested_slot") if tracker.active_loop_name == "booking_lookup_form" else None
        events = []
        reference = _REFERENCE.search(text)
        if reference:
            events.append(SlotSet("booking_reference", reference.group(0).upper()))
        elif requested == "booking_reference" and intent not in INTERRUPTIONS:
            dispatcher.utter_message(text="预约号以 YY 开头，共8位，例如 YY7K3M9P，请再输入一次。")
            events.append(SlotSet("booking_reference", None))
        phone = find_mobile(text)
        if phone:
            events.append(SlotSet("lookup_phone", normalise_phone(phone)))
        elif requested == "lookup_phone" and intent not in INTERRUPTIONS:
            dispatcher.utter_message(text="请输入预约时填写的11位手机号码。")
            events.append(SlotSet("lookup_phone", None))
        if requested and (reference or phone):
            events += _keep_purpose(tracker)
        return events


def _keep_purpose(tracker: Tracker) -> list[dict[str, Any]]:
    """A reference or phone typed while the form asks for it answers the form; it does not change its purpose.

    ``lookup_purpose`` is mapped from the intent of every message, and a bare
    "YY8Q36XW" or phone number may be read as ``query_appointment``: a citizen
    cancelling would then be shown the booking instead. The purpose the message
    found is put back.
    """
    events = tracker.events
    latest_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=len(events))
    before = [e for e in events[:latest_user] if e.get("event") == "slot" and e.get("name") == "lookup_purpose"]
    previous = before[-1].get("value") if before else None
    if previous is None or previous == tracker.get_slot("lookup_purpose"):
        return []
    return [SlotSet("lookup_purpose", previous)]


class ActionBookingLookup(Action):
    def __init__(self, hall: HallServices | None = None):
        self._hall = hall

    def name(self) -> str:
        return "action_booking_lookup"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        hall = self._hall or default_hall()
        reference, phone = tracker.get_slot("booking_reference"), tracker.get_slot("lookup_phone")
        cancel = tracker.get_slot("lookup_purpose") == "cancel"
        try:
            if cancel:
                booking = hall.bookings.cancel(reference, phone, hall.now())
                dispatcher.utter_message(text=f"已取消预约 {booking.reference}：{booking.describe()}。名额已释放，欢迎另约时间。")
            else:
                booking = hall.bookings.find(reference, phone)
                state = "已取消" if booking.cancelled else "有效"
                dispatcher.utter_message(
                    text=f"预约 {booking.reference}（{state}）：{booking.describe()}，预约人{booking.name}，手机{booking.masked_phone}。",
                    buttons=[] if booking.cancelled else [{"title": "取消这个预约", "payload": "/cancel_appointment"}],
                )
        except BookingNotFound:
            dispatcher.utter_message(text="没有找到与该预约号和手机号相符的预约，请核对后再试，或拨打12345咨询。")
        except BookingAlreadyCancelled:
            dispatcher.utter_message(text=f"预约 {reference} 之前已经取消，无需再次取消。")
        # after a query, reference and phone stay so that "取消这个预约" needs neither again
        keep = [] if cancel else [SlotSet("booking_reference", reference), SlotSet("lookup_phone", phone)]
        return [*(SlotSet(name, None) for name in LOOKUP_SLOTS), *keep]
