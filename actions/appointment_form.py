"""The appointment form: validation, its questions and the booking itself.

What a turn means for the draft is decided in ``booking_draft`` (no Rasa);
this module only moves values between Rasa's tracker and the hall's book, and
words the questions with buttons for what is actually still open.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from datetime import date, timedelta
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import FORM, OTHER
from actions.booking_draft import FIELDS, TIME_HINT, DraftContext, ItemChoice, Message, halls_for, read_turn
from actions.booking_lookup import OWN_BOOKING
from actions.districts import short_name
from actions.engine_provider import default_source
from actions.hall_provider import HallServices, default_hall
from actions.offers import parse_payload
from actions.speech import say_text
from hall.dates import format_day, parse_part_of_day
from hall.errors import BookingRefused, HallError
from hall.privacy import mask_phone
from index.live import EngineSource
from knowledge.schema import Bundle, Item

logger = logging.getLogger(__name__)

FORM_NAME = "appointment_form"
DATE_CHOICES = 5
_HALL_WORDS = re.compile(r"(政务服务中心|服务中心|那个大厅|大厅|窗口|那边|那个)")
_BOOKING_WORDS = re.compile(r"(预约|约个号|约号|挂个号|挂号|取号|排号|我想|我要|帮我|想要|一下|可以|能不能|吗|呢|[，。！？,.!?\s])")


class _HallAction(Action, ABC):
    """Shared access to the hall and the knowledge; abstract, so the action server doesn't register it."""

    @abstractmethod
    def name(self) -> str: ...

    def __init__(self, source: EngineSource | None = None, hall: HallServices | None = None):
        self._source = source
        self._hall = hall

    @property
    def hall(self) -> HallServices:
        return self._hall or default_hall()

    @property
    def source(self) -> EngineSource:
        return self._source or default_source()

    def item(self, code: str | None) -> Item | Bundle | None:
        """What can be booked: an item, or a 一件事 bundle (one window takes the whole event)."""
        record = self.source.engine().record(code) if code else None
        return record if isinstance(record, (Item, Bundle)) else None


class ValidateAppointmentForm(_HallAction):
    def name(self) -> str:
        return "validate_appointment_form"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        activating = tracker.active_loop_name != FORM_NAME
        requested = None if activating else tracker.get_slot("requested_slot")
        values = {} if activating else {name: tracker.get_slot(name) for name in (*FIELDS, TIME_HINT)}
        now = self.hall.now()
        spans = [e for e in tracker.latest_message.get("entities") or [] if "start" in e and "end" in e]
        context = DraftContext(
            today=now.date(), now=now, halls=self.hall.bookings.halls(), item=self.item,
            find_item=lambda text: self._find_item(text, spans),
            open_slots=lambda code, day: self.hall.bookings.open_slots(code, day, now.date()),
            current_item=tracker.get_slot("item_code"),
            examples=self.source.engine().example_names(2),
        )
        message = Message(
            text=(tracker.latest_message.get("text") or "").strip(),
            intent=(tracker.latest_message.get("intent") or {}).get("name") or "",
            entities={e["entity"]: str(e["value"]) for e in reversed(tracker.latest_message.get("entities") or [])
                      if e.get("entity") and e.get("value")},
        )
        outcome = read_turn(values, requested, message, context)
        for note in outcome.notes[:-1]:
            say_text(dispatcher, note, FORM)
        if outcome.notes:
            about = tuple(parse_payload(b["payload"])[1].get("item_code", "") for b in outcome.buttons)
            say_text(dispatcher, outcome.notes[-1], FORM, outcome.buttons, about=tuple(c for c in about if c))
        updates = dict(outcome.updates)
        if activating:  # a new booking starts from nothing but what this message says
            updates = {name: None for name in (*FIELDS, TIME_HINT)} | updates
        return [SlotSet(name, value) for name, value in updates.items()]

    def _find_item(self, text: str, entities: list[dict[str, Any]]) -> ItemChoice:
        """The item named in a booking request; booking words, dates, times and places are not part of it
        ("帮我预约明天上午去青山区办居住证" is searched as "办居住证")."""
        engine = self.source.engine()
        rest = _BOOKING_WORDS.sub("", _without_entities(text, entities))
        for hall in self.hall.bookings.halls():  # "去南关那个大厅" names where, not what
            rest = rest.replace(hall.name, "").replace(hall.district, "").replace(short_name(hall.district), "")
        rest = _HALL_WORDS.sub("", rest)
        if len(rest) < 2 or not engine.has_content(rest):
            return ItemChoice()
        result = engine.search(rest)
        shown = [c for c in result.shown if c.kind in ("item", "bundle")]
        if result.decision == "answer" and shown:
            return ItemChoice(code=shown[0].code)
        # not sure which: the likeliest as choices (the citizen can still type the name), never a blank question
        ranked = shown or [c for c in result.candidates if c.kind in ("item", "bundle")]
        return ItemChoice(choices=[(c.code, c.name) for c in ranked[:4]])


def _without_entities(text: str, entities: list[dict[str, Any]]) -> str:
    for entity in sorted(entities, key=lambda e: e["start"], reverse=True):
        if entity.get("entity") in ("date", "time", "district", "phone", "province"):
            text = text[: entity["start"]] + text[entity["end"]:]
    return text


class ActionAskAppointmentItem(_HallAction):
    def name(self) -> str:
        return "action_ask_appointment_item"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        if _choices_offered_this_turn(tracker):  # "您要预约办理的是哪一项？" with the likely items was just asked
            return []
        examples = "、".join(f"“{name}”" for name in self.source.engine().example_names(2))
        hint = f"，例如{examples}" if examples else ""
        say_text(dispatcher, f"请问您要预约办理什么事项？请直接输入事项名称{hint}。", FORM)
        return []


def _choices_offered_this_turn(tracker: Tracker) -> bool:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "bot" and (event.get("data") or {}).get("buttons"):
            return True
    return False


class ActionAskAppointmentName(Action):
    def name(self) -> str:
        return "action_ask_appointment_name"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        say_text(dispatcher, "请问预约人的姓名是？", FORM, about=_booked_code(tracker))
        return []


class ActionAskAppointmentPhone(Action):
    def name(self) -> str:
        return "action_ask_appointment_phone"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        say_text(dispatcher, "请留一个11位手机号码，用于查询和提醒（回复中只显示部分号码）。", FORM, about=_booked_code(tracker))
        return []


class ActionAskAppointmentHall(_HallAction):
    def name(self) -> str:
        return "action_ask_appointment_hall"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        item = self.item(tracker.get_slot("appointment_item"))
        halls = halls_for(item, self.hall.bookings.halls())
        say_text(dispatcher, f"请问您想到哪个大厅办理【{item.name if item else '该事项'}】？", FORM,
                 [{"title": h.name, "payload": '/inform{"district":"%s"}' % h.district} for h in halls],
                 about=(item.code,) if item else ())
        return []


class ActionAskAppointmentDate(_HallAction):
    def name(self) -> str:
        return "action_ask_appointment_date"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        hall_code = tracker.get_slot("appointment_hall")
        today = self.hall.now().date()
        days: list[date] = []
        try:
            hall = self.hall.bookings.hall(hall_code)
            for offset in range(hall.booking_horizon_days + 1):
                day = today + timedelta(days=offset)
                if offset and hall.is_open(day) and any(not a.full for a in self.hall.bookings.open_slots(hall_code, day, today)):
                    days.append(day)
                if len(days) == DATE_CHOICES:
                    break
        except HallError:
            logger.warning("hall %s could not list its days", hall_code)
        say_text(dispatcher, "请问您想哪天去？可以点选，也可以说“明天”“下周三”“11月25日”。", FORM,
                 [{"title": format_day(d), "payload": '/inform{"date":"%s"}' % d.isoformat()} for d in days],
                 about=_booked_code(tracker))
        return []


class ActionAskAppointmentSlot(_HallAction):
    def name(self) -> str:
        return "action_ask_appointment_slot"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        day = date.fromisoformat(tracker.get_slot("appointment_date"))
        now = self.hall.now()
        available = self.hall.bookings.open_slots(tracker.get_slot("appointment_hall"), day, now.date())
        open_now = [a for a in available if not a.full and not (day == now.date() and a.slot.start <= now.time())]
        # "上午" said before: only the morning's slots (the hint stays until a slot is chosen)
        part = parse_part_of_day(tracker.get_slot(TIME_HINT) or "")
        in_part = [a for a in open_now if part is None or a.slot.part_of_day == part]
        shown = in_part or open_now
        when = ("上午" if part == "morning" else "下午") if part and in_part else ""
        buttons = [{"title": f"{a.slot.label}（余{a.left}）", "payload": '/inform{"time":"%s"}' % a.slot.label}
                   for a in shown]
        say_text(dispatcher, f"{format_day(day)}{when}可预约的时段如下，请选择（可回复序号）：", FORM, buttons,
                 about=_booked_code(tracker))
        return []


class ActionAskAppointmentConfirmed(_HallAction):
    def name(self) -> str:
        return "action_ask_appointment_confirmed"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        say_text(dispatcher, "请核对预约信息：\n" + _summary(self, tracker) + "\n确认提交吗？", FORM,
                 [{"title": "确认预约", "payload": "/affirm"}, {"title": "修改", "payload": "/deny"}],
                 about=_booked_code(tracker))
        return []


def _booked_code(tracker: Tracker) -> tuple[str, ...]:
    code = tracker.get_slot("appointment_item")
    return (code,) if code else ()


def _summary(action: _HallAction, tracker: Tracker) -> str:
    item = action.item(tracker.get_slot("appointment_item"))
    hall = action.hall.bookings.hall(tracker.get_slot("appointment_hall"))
    day = date.fromisoformat(tracker.get_slot("appointment_date"))
    return (
        f"事项：{item.name if item else tracker.get_slot('appointment_item')}\n大厅：{hall.name}（{hall.address}）\n"
        f"时间：{format_day(day)} {tracker.get_slot('appointment_slot')}\n"
        f"预约人：{tracker.get_slot('appointment_name')}，手机：{mask_phone(tracker.get_slot('appointment_phone') or '')}"
    )


def cleared_booking_slots() -> list[dict[str, Any]]:
    return [SlotSet(name, None) for name in (*FIELDS, TIME_HINT)]


class ActionBookAppointment(_HallAction):
    def name(self) -> str:
        return "action_book_appointment"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        item = self.item(tracker.get_slot("appointment_item"))
        now = self.hall.now()
        try:
            booking = self.hall.bookings.book(
                sender_id=tracker.sender_id, item_code=tracker.get_slot("appointment_item"),
                item_name=item.name if item else tracker.get_slot("appointment_item"),
                hall_code=tracker.get_slot("appointment_hall"), day=date.fromisoformat(tracker.get_slot("appointment_date")),
                slot_label=tracker.get_slot("appointment_slot"), name=tracker.get_slot("appointment_name"),
                phone=tracker.get_slot("appointment_phone"), today=now.date(), now=now,
            )
        except BookingRefused as refused:
            # someone took the last place between the question and the confirmation: choose again
            say_text(dispatcher, refused.message, FORM)
            field = {"slot_full": "appointment_slot", "no_such_slot": "appointment_slot"}.get(refused.reason, "appointment_date")
            return [SlotSet(field, None), SlotSet("appointment_confirmed", None), FollowupAction(FORM_NAME)]
        hall = self.hall.bookings.hall(booking.hall_code)
        say_text(
            dispatcher,
            f"预约成功！预约号：{booking.reference}\n{booking.describe()}\n地址：{hall.address}\n"
            f"预约人：{booking.name}，手机：{booking.masked_phone}\n"
            "请按时携带材料到场；在本对话中说“查询预约”或“取消预约”即可，换个地方查询需提供预约号和手机号。",
            "booked", [{"title": "所需材料", "payload": '/ask_materials{"item_code":"%s"}' % booking.item_code}],
            about=(booking.item_code,),
        )
        return [*cleared_booking_slots(), SlotSet("item_code", booking.item_code), SlotSet(OWN_BOOKING, booking.reference)]


class ActionLeaveBooking(Action):
    def name(self) -> str:
        return "action_leave_booking"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        say_text(dispatcher, "好的，已退出预约，填写的信息没有保存。还有什么可以帮您？", OTHER)
        return cleared_booking_slots()
