"""Reading one citizen turn into the appointment being drafted, without Rasa.

The form asks for item → hall → date → slot → name → phone → confirmation,
but citizens answer out of order ("明天上午去青山区办居住证") and change their
mind mid-way ("改成后天下午"). So every turn is read for every field it
names; the field the form asked for is also read from free text. A value is
only kept once it is valid for what is already known (a Sunday is refused for
a hall closed on Sundays, a slot that is full is refused), and the reason a
value was refused is said before the question is asked again.

A turn that fills nothing and is another kind of question (a fee, "转人工",
"不约了") yields no updates at all: Rasa then rejects the form for this turn
and the dialogue rules answer that question first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from actions.districts import district_named
from hall.bookings import SlotAvailability
from hall.dates import format_day, parse_clock, parse_date, parse_part_of_day
from hall.errors import BookingRefused
from hall.halls import Hall
from hall.privacy import find_mobile, normalise_phone
from knowledge.schema import Bundle, Item

FIELDS = (
    "appointment_item",
    "appointment_hall",
    "appointment_date",
    "appointment_slot",
    "appointment_name",
    "appointment_phone",
    "appointment_confirmed",
)
TIME_HINT = "appointment_time_hint"
# Intents that ask something else: with nothing filled, the form steps aside for them.
INTERRUPTIONS = frozenset({
    "ask_materials", "ask_procedure", "ask_time", "ask_fee", "ask_place", "ask_online",
    "ask_cross_province", "ask_bundle", "stop", "request_human", "door_to_door", "hostile",
    "out_of_scope", "goodbye", "query_appointment", "cancel_appointment",
})
_NAME_PREFIX = re.compile(r"^(我的?(名字|姓名)(是|叫)?|(名字|姓名)(改成|改为|是|叫|写)?|我叫|我是|叫)[:：\s]*")
_NAME_CHANGE = re.compile(r"(名字|姓名)(改成|改为|应该是|是)[:：\s]*(\S+)")
_NAME = re.compile(r"^[\u4e00-\u9fff·A-Za-z]{2,20}$")
_DIGIT_RUN = re.compile(r"\d[\d\s\-.]{5,}\d")  # something like a phone number, right or wrong


@dataclass(frozen=True)
class Message:
    text: str
    intent: str
    entities: dict[str, str]


@dataclass(frozen=True)
class ItemChoice:
    """What retrieval made of a text: one item, a few to choose from, or nothing."""

    code: str | None = None
    choices: list[tuple[str, str]] = field(default_factory=list)  # (code, name)


@dataclass
class DraftContext:
    today: date
    now: datetime
    halls: list[Hall]
    item: Callable[[str], Item | Bundle | None]
    find_item: Callable[[str], ItemChoice]
    open_slots: Callable[[str, date], list[SlotAvailability]]  # raises BookingRefused for a day that can't be booked
    current_item: str | None = None
    examples: list[str] = field(default_factory=list)  # names of the base's guides, for "例如…"


@dataclass
class TurnOutcome:
    updates: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    buttons: list[dict[str, str]] = field(default_factory=list)


def halls_for(item: Item | Bundle | None, halls: list[Hall]) -> list[Hall]:
    """Halls that take this item: those of the districts its guide lists (all when it lists none, as a bundle)."""
    offered = {v.district for v in item.districts} if isinstance(item, Item) else set()
    return [
        h for h in halls
        if (not offered or h.district in offered) and (h.items is None or item is None or item.code in h.items)
    ]


class _Draft:
    def __init__(self, values: dict[str, Any], requested: str | None, message: Message, ctx: DraftContext):
        self.values = dict(values)
        self.requested = requested
        self.message = message
        self.ctx = ctx
        self.out = TurnOutcome()

    def get(self, name: str) -> Any:
        return self.values.get(name)

    def set(self, name: str, value: Any, note: str | None = None) -> None:
        if self.values.get(name) != value or name == self.requested:
            self.out.updates[name] = value
        self.values[name] = value
        if note:
            self.out.notes.append(note)

    # ---- fields ----------------------------------------------------------------------

    def read_item(self) -> None:
        code = self.message.entities.get("item_code")
        choice = ItemChoice()
        if code is None and self.requested in (None, "appointment_item"):
            if self.message.text and not self.message.text.startswith("/"):
                choice = self.ctx.find_item(self.message.text)
            code = choice.code
            if code is None and choice.choices:  # at the start too: offer the choice rather than ask blind
                self.set("appointment_item", None, "您要预约办理的是哪一项？请点选：")
                self.out.buttons = [
                    {"title": name, "payload": '/inform{"item_code":"%s"}' % c} for c, name in choice.choices
                ]
                return
        if code is None and self.requested is None and not choice.choices:
            # "我想预约" after talking about an item means that item; an ambiguous request is asked instead
            code = self.ctx.current_item
        if code is None:
            return
        item = self.ctx.item(code)
        if item is None:
            if self.requested == "appointment_item":
                examples = "、".join(f"“{name}”" for name in self.ctx.examples)
                self.set("appointment_item", None,
                         "预约只能按具体事项办理，请告诉我事项名称" + (f"，例如{examples}。" if examples else "。"))
            return
        if not halls_for(item, self.ctx.halls):
            self.set("appointment_item", None, f"【{item.name}】暂不支持在政务服务中心预约，可说“转人工”咨询。")
            return
        self.set("appointment_item", item.code)

    def read_hall(self) -> None:
        item = self.ctx.item(self.get("appointment_item")) if self.get("appointment_item") else None
        candidates = halls_for(item, self.ctx.halls)
        said = self.message.entities.get("district") or ""
        if not said and self.requested in ("appointment_hall", None):
            # the halls' own district names, read in the text: NLU's lookup table knows only the demo base's
            said = self.message.text
        district = district_named(said, sorted({h.district for h in self.ctx.halls}))
        if district is None:
            if len(candidates) == 1 and item is not None and not self.get("appointment_hall"):
                self.set("appointment_hall", candidates[0].code)
            return
        hall = next((h for h in candidates if h.district == district), None)
        if hall is None:
            where = "、".join(h.name for h in candidates)
            self.set("appointment_hall", None, f"{district}的大厅不受理这个事项，可以预约：{where}。")
            return
        self.set("appointment_hall", hall.code)

    def read_date(self) -> None:
        said = self.message.entities.get("date")
        if said is None and self.requested in ("appointment_date", None):
            said = self.message.text
        day = parse_date(said or "", self.ctx.today)
        if day is not None:
            self.set("appointment_date", day.isoformat())
        elif self.requested == "appointment_date" and self.message.intent not in INTERRUPTIONS and not self.out.updates:
            self.set("appointment_date", None, "没听清日期，请说“明天”“下周三”或“11月25日”这样的日期。")

    def read_time(self) -> None:
        said = self.message.entities.get("time")
        if said is None and self.requested in ("appointment_slot", None):
            text = self.message.text
            said = text if (parse_clock(text) or parse_part_of_day(text) or "-" in text) else None
        if said:
            self.values[TIME_HINT] = said
            self.out.updates[TIME_HINT] = said
            if self.get("appointment_slot"):
                self.set("appointment_slot", None)
        elif self.requested == "appointment_slot" and self.message.intent not in INTERRUPTIONS and not self.out.updates:
            # a part of the day said before still narrows the list, but this reply said no time: asking again in
            # silence would leave a citizen who typed something else (their name, "对") in a loop
            self.set("appointment_slot", None, "请点选一个时段，或说“上午10点”“下午3点”。")

    def read_name(self) -> None:
        text = self.message.text.strip()
        change = _NAME_CHANGE.search(text)
        if change:
            candidate = change.group(3)
        elif self.requested == "appointment_name" and not text.startswith("/"):
            candidate = _NAME_PREFIX.sub("", text)
        else:
            return
        candidate = candidate.strip(" 。.,，!！")
        if _NAME.match(candidate):
            self.set("appointment_name", candidate)
        elif change or self.message.intent not in INTERRUPTIONS:
            self.set("appointment_name", None, "请告诉我预约人的姓名（2到20个字，不含数字）。")

    def read_phone(self) -> None:
        said = self.message.entities.get("phone")
        if said is None and self.requested == "appointment_phone":
            said = find_mobile(self.message.text)
            # a wrong number is still a number: whatever NLU made of "1381234567", it answers the question asked
            tried = _DIGIT_RUN.search(self.message.text) is not None
            if said is None and (tried or self.message.intent not in INTERRUPTIONS):
                self.set("appointment_phone", None, "请填写11位的中国大陆手机号码，用于接收预约提醒。")
                return
        if said:
            self.set("appointment_phone", normalise_phone(said))

    def read_confirmation(self) -> None:
        if self.requested != "appointment_confirmed":
            return
        if self.message.intent == "affirm":
            self.set("appointment_confirmed", "yes")
        elif self.message.intent == "deny":
            self.set("appointment_confirmed", None, "请告诉我要改哪一项，例如“改成后天下午”“换到东湖区”“电话改为……”“名字改成……”。")

    # ---- consistency -------------------------------------------------------------------

    def check_day_and_slot(self) -> None:
        """Keep the date and slot only while they fit the hall, the calendar and the places left."""
        hall_code, day_text = self.get("appointment_hall"), self.get("appointment_date")
        if not hall_code or not day_text:
            return
        day = date.fromisoformat(day_text)
        try:
            available = self.ctx.open_slots(hall_code, day)
        except BookingRefused as refused:
            self.set("appointment_date", None, refused.message)
            self.set("appointment_slot", None)
            return
        open_now = [a for a in available if not a.full and not (day == self.ctx.today and a.slot.start <= self.ctx.now.time())]
        if not open_now:
            self.set("appointment_date", None, f"{format_day(day)}已经约满或已过办公时间，请换一天。")
            self.set("appointment_slot", None)
            return
        hint = self.values.pop(TIME_HINT, None)
        if hint:
            self.out.updates[TIME_HINT] = None
            self._slot_from_hint(hint, day, open_now)
        label = self.get("appointment_slot")
        if label and label not in {a.slot.label for a in open_now}:
            self.set("appointment_slot", None, f"{format_day(day)}{label}已约满或不可预约，请换一个时段。")

    def _slot_from_hint(self, hint: str, day: date, open_now: list[SlotAvailability]) -> None:
        exact = next((a for a in open_now if a.slot.label == hint.strip()), None)
        clock = parse_clock(hint)
        part = parse_part_of_day(hint)
        if exact:
            self.set("appointment_slot", exact.slot.label)
        elif clock is not None:
            hit = next((a for a in open_now if a.slot.contains(clock)), None)
            if hit:
                self.set("appointment_slot", hit.slot.label)
            else:
                self.set("appointment_slot", None, f"{format_day(day)}{clock:%H:%M}没有可预约的时段，请从下面的时段中选择。")
        elif part is not None:
            in_part = [a for a in open_now if a.slot.part_of_day == part]
            if len(in_part) == 1:
                self.set("appointment_slot", in_part[0].slot.label)
            elif in_part:  # several: the slot is asked, and the part of the day still holds (e.g. for another day)
                self.values[TIME_HINT] = hint
                self.out.updates[TIME_HINT] = hint
            else:
                self.set("appointment_slot", None, f"{format_day(day)}{'上午' if part == 'morning' else '下午'}没有可预约的时段了。")


def read_turn(values: dict[str, Any], requested: str | None, message: Message, ctx: DraftContext) -> TurnOutcome:
    """The slot updates (``None`` clears) and what to tell the citizen for one turn of the form."""
    draft = _Draft(values, requested, message, ctx)
    before = {name: draft.get(name) for name in FIELDS}
    draft.read_item()
    if draft.get("appointment_item") != before["appointment_item"] and before["appointment_hall"]:
        item = ctx.item(draft.get("appointment_item")) if draft.get("appointment_item") else None
        if before["appointment_hall"] not in {h.code for h in halls_for(item, ctx.halls)}:
            draft.set("appointment_hall", None)  # the hall chosen does not take this item
    draft.read_hall()
    draft.read_date()
    draft.read_time()
    draft.read_name()
    draft.read_phone()
    draft.read_confirmation()
    draft.check_day_and_slot()
    changed = any(draft.get(name) != before[name] for name in FIELDS if name != "appointment_confirmed")
    if changed and draft.get("appointment_confirmed"):
        draft.set("appointment_confirmed", None)
    if requested and not draft.out.updates and message.intent not in INTERRUPTIONS:
        draft.set(requested, None, "抱歉，没听明白。")
    return draft.out
