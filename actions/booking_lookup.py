"""Finding and cancelling a booking: by its reference and phone, or the one made in this conversation.

Both reference and phone are asked for a booking made elsewhere, because a
reference alone would let anyone who saw it cancel someone else's
appointment; the reply never shows the full phone. A reference whose look-ups
failed too often is locked for a while (``BookingLocked``, see hall/bookings.py),
and the citizen is told when to try again and which hall to call.

A booking made in this very conversation is the citizen's own (the hall's book
knows which sender made it): "查询预约" or "取消刚才那个预约" needs neither
reference nor phone, only a yes to "确认取消…吗？", and is never locked out. It
is found by the sender even when the reply that named it was lost, so a citizen
can always get their booking back: "确认" again right after booking shows it
(``ActionShowRecentBooking``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import FORM, OTHER
from actions.booking_draft import FIELDS, INTERRUPTIONS
from actions.hall_provider import HallServices, default_hall
from actions.speech import say_text
from hall.bookings import REFERENCE_PATTERN, Booking
from hall.dates import format_day
from hall.errors import BookingAlreadyCancelled, BookingLocked, BookingNotFound, HallNotFound
from hall.privacy import find_mobile, normalise_phone

logger = logging.getLogger(__name__)

LOOKUP_SLOTS = ("booking_reference", "lookup_phone", "lookup_purpose", "lookup_confirmed")
OWN_BOOKING = "own_booking"  # the reference of the booking made in this conversation
NOT_FOUND = "没有找到与该预约号和手机号相符的预约，请核对后再试，或拨打12345咨询。"
REFERENCE_HINT = "预约号以 YY 开头，共12位（早先的预约号为8位），例如 YY7K3M9PQ4XZ，请再输入一次。"
# a "确认" this soon after a booking may be a retry whose first reply was lost: the booking is shown again
RECENT_BOOKING = timedelta(minutes=15)
BOOK_ACTION = "action_book_appointment"
PLAIN_YES_ACTION = "action_answer_item"


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
        reference = REFERENCE_PATTERN.search(text)
        phone = find_mobile(text)
        if reference:
            events.append(SlotSet("booking_reference", reference.group(0).upper()))
        elif requested is None and not tracker.get_slot("booking_reference"):
            events += self._own_booking(tracker)
        elif requested == "booking_reference" and intent not in INTERRUPTIONS:
            say_text(dispatcher, REFERENCE_HINT, FORM)
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
        """The booking made in this conversation, when the citizen names none: reference and phone from the book.

        The one the ``own_booking`` slot names, else the sender's latest: the slot is lost with the reply
        when a worker dies after the booking was committed, and the citizen must still get it back.
        """
        hall = self._hall or default_hall()
        booking = _named_own_booking(hall, tracker) or hall.bookings.latest_of(tracker.sender_id)
        if booking is None:
            return []
        return [SlotSet("booking_reference", booking.reference), SlotSet("lookup_phone", booking.phone)]


def _named_own_booking(hall: HallServices, tracker: Tracker) -> Booking | None:
    reference = tracker.get_slot(OWN_BOOKING)
    if not reference:
        return None
    try:
        return hall.bookings.held_by(reference, tracker.sender_id)
    except BookingNotFound:
        return None


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
            booking = hall.bookings.find(reference, phone, sender_id=tracker.sender_id, now=hall.now())
        except (BookingNotFound, BookingLocked):
            # asked anyway: the look-up will say what it found, and no booking is described to a stranger
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
        found = False
        now = hall.now()
        try:
            if keep_booking:
                say_text(dispatcher, f"好的，预约 {reference} 保留不变。还有什么可以帮您？", OTHER)
            elif cancel:
                booking = hall.bookings.cancel(reference, phone, now, sender_id=tracker.sender_id)
                say_text(dispatcher, f"已取消预约 {booking.reference}：{booking.describe()}。名额已释放，欢迎另约时间。",
                         "cancelled", about=(booking.item_code,))
            else:
                booking = hall.bookings.find(reference, phone, sender_id=tracker.sender_id, now=now)
                found = True
                state = "已取消" if booking.cancelled else "有效"
                say_text(
                    dispatcher,
                    f"预约 {booking.reference}（{state}）：{booking.describe()}，预约人{booking.name}，手机{booking.masked_phone}。",
                    "lookup", [] if booking.cancelled else [{"title": "取消这个预约", "payload": "/cancel_appointment"}],
                    about=(booking.item_code,),
                )
        except BookingNotFound:
            say_text(dispatcher, NOT_FOUND, "decline")
        except BookingLocked as locked:
            say_text(dispatcher, locked_text(locked, now), "decline")
        except BookingAlreadyCancelled:
            say_text(dispatcher, f"预约 {reference} 之前已经取消，无需再次取消。", OTHER)
        # after a query that found it, reference and phone stay so that "取消这个预约" needs neither again; after one
        # that did not, they go, or the next "查询预约" would try the same wrong pair again (and count it)
        keep = [SlotSet("booking_reference", reference), SlotSet("lookup_phone", phone)] if found else []
        return [*(SlotSet(name, None) for name in LOOKUP_SLOTS), *keep]


def locked_text(locked: BookingLocked, now: datetime) -> str:
    """What a citizen is told when the reference is locked: until when, and whom to call meanwhile."""
    until = locked.until.astimezone(now.tzinfo) if now.tzinfo else locked.until
    when = f"{until:%H:%M}" if until.date() == now.date() else f"{format_day(until.date())}{until:%H:%M}"
    call = (f"拨打{locked.hall_name}电话{locked.hall_phone}" if locked.hall_phone and locked.hall_name
            else "拨打办事大厅电话")
    return f"该预约号查询失败次数过多，为保护预约人信息，已暂停查询和取消。请在{when}以后再试，或{call}办理。"


class ActionShowRecentBooking(Action):
    """A yes right after a booking: the booking again, with its reference.

    The reply to "确认" can be lost after the booking was committed (the API or an
    action server worker killed mid-turn), and the citizen says "确认" again. The
    retry meets one of two trackers. If the booking action's events were lost, the
    draft is still filled and confirmed: booking again returns the booking already
    made (``BookingBook.book`` knows a repeated confirmation) with its reference. If
    they were kept, the draft is cleared: the sender's booking of the last minutes
    is shown. Anything else is a plain yes, answered as one.
    """

    def __init__(self, hall: HallServices | None = None):
        self._hall = hall

    def name(self) -> str:
        return "action_show_recent_booking"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        if _confirmed_draft(tracker):
            logger.info("a confirmed draft is still open after booking: confirming it again")
            return [FollowupAction(BOOK_ACTION)]
        hall = self._hall or default_hall()
        booking = recent_booking(hall, tracker.sender_id)
        if booking is None:
            return [FollowupAction(PLAIN_YES_ACTION)]
        say_text(dispatcher, _recent_text(hall, booking), "lookup",
                 [{"title": "所需材料", "payload": '/ask_materials{"item_code":"%s"}' % booking.item_code}],
                 about=(booking.item_code,))
        return [SlotSet(OWN_BOOKING, booking.reference)]


def _confirmed_draft(tracker: Tracker) -> bool:
    return all(tracker.get_slot(name) for name in FIELDS) and tracker.get_slot("appointment_confirmed") == "yes"


def recent_booking(hall: HallServices, sender_id: str) -> Booking | None:
    """The sender's booking made within ``RECENT_BOOKING`` and still booked, if any."""
    booking = hall.bookings.latest_of(sender_id)
    if booking is None or booking.cancelled or hall.now() - booking.created_at > RECENT_BOOKING:
        return None
    return booking


def _recent_text(hall: HallServices, booking: Booking) -> str:
    try:
        address = f"\n地址：{hall.bookings.hall(booking.hall_code).address}"
    except HallNotFound:
        address = ""
    return (f"您的预约已成功，预约号：{booking.reference}\n{booking.describe()}{address}\n"
            f"预约人：{booking.name}，手机：{booking.masked_phone}\n"
            "在本对话中说“查询预约”可随时再看，换个地方查询需提供预约号和手机号。")
