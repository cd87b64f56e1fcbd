"""Finding and cancelling a booking: by its reference and phone, or the one made in this conversation.

Both reference and phone are asked for a booking made elsewhere, because a
reference alone would let anyone who saw it cancel someone else's
appointment; the reply never shows the full phone. A booking made in this
very conversation is the citizen's own (the hall's book knows which sender
made it): "取消刚才那个预约" needs neither, only a yes to "确认取消…吗？".
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import FORM, OTHER
from actions.booking_draft import INTERRUPTIONS
from actions.hall_provider import HallServices, default_hall
from actions.speech import say_text
from hall.errors import BookingAlreadyCancelled, BookingNotFound
from hall.privacy import find_mobile, normalise_phone

logger = logging.getLogger(__name__)

_REFERENCE = re.compile(r"YY[0-9A-Z]{6}", re.IGNORECASE)
LOOKUP_SLOTS = ("booking_reference", "lookup_phone", "lookup_purpose", "lookup_confirmed")
OWN_BOOKING = "own_booking"  # the reference of the booking made in this conversation


class ValidateBookingLookupForm(Action):
    def __init__(self, hall: HallServices | None = None):
        self._hall = hall

    def name(self) -> str:
        return "validate_booking_lookup_form"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        text = (tracker.latest_message.get("text") or "").strip()
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        requested = tracker.get_slot("requested_slot") if tracker.active_loop_name == "booking_lookup_form" else None
        events: list[dict[str, Any]] = []
        reference = _REFERENCE.search(text)
        phone = find_mobile(text)
        if reference:
            events.append(SlotSet("booking_reference", reference.group(0).upper()))
        elif requested is None and not tracker.get_slot("booking_reference"):
            events += self._own_booking(tracker)
        elif requested == "booking_reference" and intent not in INTERRUPTIONS:
            say_text(dispatcher, "预约号以 YY 开头，共8位，例如 YY7K3M9P，请再输入一次。", FORM)
            events.append(SlotSet("booking_reference", None))
        if phone:
            events.append(SlotSet("lookup_phone", normalise_phone(phone)))
        elif requested == "lookup_phone" and intent not in INTERRUPTIONS:
            say_text(dispatcher, "请输入预约时填写的11位手机号码。", FORM)
            events.append(SlotSet("lookup_phone", None))
        if requested and (reference or phone):
            events += _keep_purpose(tracker)
        if requested == "lookup_confirmed":
            if intent == "affirm":
                events.append(SlotSet("lookup_confirmed", "yes"))
            elif intent in ("deny", "stop"):
                events.append(SlotSet("lookup_confirmed", "no"))
        elif _purpose(tracker, events) == "query" and tracker.get_slot("lookup_confirmed") != "yes":
            events.append(SlotSet("lookup_confirmed", "yes"))  # a look-up needs no confirmation
        return events

    def _own_booking(self, tracker: Tracker) -> list[dict[str, Any]]:
        """The booking made in this conversation, when the citizen names none: reference and phone from the book."""
        reference = tracker.get_slot(OWN_BOOKING)
        if not reference:
            return []
        hall = self._hall or default_hall()
        try:
            booking = hall.bookings.held_by(reference, tracker.sender_id)
        except BookingNotFound:
            return []
        return [SlotSet("booking_reference", booking.reference), SlotSet("lookup_phone", booking.phone)]


def _purpose(tracker: Tracker, events: list[dict[str, Any]]) -> str | None:
    for event in reversed(events):
        if event.get("name") == "lookup_purpose":
            return event.get("value")
    return tracker.get_slot("lookup_purpose")


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


class ActionAskLookupConfirmed(Action):
    """Before cancelling, the citizen sees which booking and says yes."""

    def __init__(self, hall: HallServices | None = None):
        self._hall = hall

    def name(self) -> str:
        return "action_ask_lookup_confirmed"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        hall = self._hall or default_hall()
        reference, phone = tracker.get_slot("booking_reference"), tracker.get_slot("lookup_phone")
        try:
            booking = hall.bookings.find(reference, phone)
        except BookingNotFound:
            # asked anyway: the look-up will say it found nothing, and no booking is described to a stranger
            say_text(dispatcher, f"确认取消预约 {reference} 吗？", FORM, _CONFIRM_BUTTONS)
            return []
        say_text(dispatcher, f"确认取消预约 {booking.reference}（{booking.describe()}）吗？", FORM, _CONFIRM_BUTTONS)
        return []


_CONFIRM_BUTTONS = [{"title": "确认取消", "payload": "/affirm"}, {"title": "不取消", "payload": "/deny"}]


class ActionBookingLookup(Action):
    def __init__(self, hall: HallServices | None = None):
        self._hall = hall

    def name(self) -> str:
        return "action_booking_lookup"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        hall = self._hall or default_hall()
        reference, phone = tracker.get_slot("booking_reference"), tracker.get_slot("lookup_phone")
        cancel = tracker.get_slot("lookup_purpose") == "cancel"
        keep_booking = cancel and tracker.get_slot("lookup_confirmed") != "yes"
        try:
            if keep_booking:
                say_text(dispatcher, f"好的，预约 {reference} 保留不变。还有什么可以帮您？", OTHER)
            elif cancel:
                booking = hall.bookings.cancel(reference, phone, hall.now())
                say_text(dispatcher, f"已取消预约 {booking.reference}：{booking.describe()}。名额已释放，欢迎另约时间。",
                         "cancelled", about=(booking.item_code,))
            else:
                booking = hall.bookings.find(reference, phone)
                state = "已取消" if booking.cancelled else "有效"
                say_text(
                    dispatcher,
                    f"预约 {booking.reference}（{state}）：{booking.describe()}，预约人{booking.name}，手机{booking.masked_phone}。",
                    "lookup", [] if booking.cancelled else [{"title": "取消这个预约", "payload": "/cancel_appointment"}],
                    about=(booking.item_code,),
                )
        except BookingNotFound:
            say_text(dispatcher, "没有找到与该预约号和手机号相符的预约，请核对后再试，或拨打12345咨询。", "decline")
        except BookingAlreadyCancelled:
            say_text(dispatcher, f"预约 {reference} 之前已经取消，无需再次取消。", OTHER)
        # after a query, reference and phone stay so that "取消这个预约" needs neither again
        keep = [] if cancel else [SlotSet("booking_reference", reference), SlotSet("lookup_phone", phone)]
        return [*(SlotSet(name, None) for name in LOOKUP_SLOTS), *keep]
