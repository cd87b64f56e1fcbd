"""Handing a conversation to a person (帮办代办) with everything they need — when the citizen means it.

A ticket carries the transcript (masked by the hall package before it is
stored), the item and district under discussion and the materials the citizen
said they lack, so the person who picks it up never has to ask again. Who
holds the conversation afterwards is the ticket's state, which the service
reads for every message (``service.conversation``); Rasa's own tracker is not
paused, so a closed ticket leaves nothing behind that could keep the bot quiet.

A ticket is opened only on an explicit request (转人工, 人工客服, 找工作人员,
a tap or a yes on the bot's offer of a person) or for door-to-door service.
"咋整", "办不了" and "能找人代办吗" are read as questions first: NLU hears a
plea for help in them, but a guide usually answers them. When no guide does,
the bot offers a person and lets the citizen decide.
"""

from __future__ import annotations

import logging
import re
from datetime import date, tzinfo
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import HANDOVER
from actions.engine_provider import default_source
from actions.hall_provider import HallServices, default_hall
from actions.item_actions import ItemConversation
from actions.speech import say_text
from hall.dates import format_day
from hall.office_hours import reply_due
from hall.tickets import Ticket
from index.live import EngineSource
from knowledge.schema import Item

logger = logging.getLogger(__name__)

REASON_TEXTS = {
    "human": "转人工",
    "cannot_get_done": "办不成事",
    "repeated_failure": "智能客服多次未能解答",
    "door_to_door": "上门办",
    "agent_takeover": "工作人员接入",
}
LACKING_CUES = ("没有", "没带", "缺", "丢了", "丢失", "找不到", "不全", "弄丢", "过期", "没办")
_MATERIAL_NOISE = re.compile(r"(原件|复印件|及复印件|和复印件|（.*?）|\(.*?\))")
_CANNOT_GET_DONE = ("办不成", "办不了", "办不下来", "卡住", "被退回")
# Words that ask for a person, not for an answer
PERSON_WORDS = ("人工", "真人", "工作人员", "客服", "坐席", "活人", "值班", "负责人", "领导", "投诉", "找个人", "换个人",
                "转个人", "有没有人", "来个人", "帮办")


# Asking for service at home in so many words; NLU also hears it in any story of illness or disability
DOOR_WORDS = ("上门", "到家", "来家", "家里办", "入户", "上家")


def asks_for_person(text: str) -> bool:
    """An explicit request: the offer's button or a yes to it (a payload), or words that ask for a person."""
    return text.startswith("/") or any(word in text for word in PERSON_WORDS)


def transcript(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """What was said, in order, in people's words: the citizen's messages (what they typed, a tapped choice as
    its title, never a payload such as ``/affirm``) and the bot's replies."""
    lines: list[tuple[str, str]] = []
    offered: dict[str, str] = {}
    for event in events:
        text = (event.get("text") or "").strip()
        if event.get("event") == "user" and text:
            metadata = event.get("metadata") if isinstance(event.get("metadata"), dict) else {}
            said = str(metadata.get("typed") or text).strip()
            lines.append(("citizen", offered.get(said, said)))
            offered = {}
        elif event.get("event") == "bot":
            if text:
                lines.append(("bot", text))
            buttons = [b for b in (event.get("data") or {}).get("buttons") or [] if isinstance(b, dict)]
            offered.update({str(b.get("payload")): str(b.get("title")) for b in buttons})
    return lines


def _material_keys(name: str) -> set[str]:
    core = _MATERIAL_NOISE.sub("", name).strip()
    keys = {name, core}
    for prefix in ("居民", "近期", "本人"):
        if core.startswith(prefix):
            keys.add(core[len(prefix):])
    keys |= {k.replace("簿", "本") for k in keys}
    return {k for k in keys if len(k) >= 2}


def missing_materials(item: Item | None, citizen_texts: list[str]) -> list[str]:
    """Materials of the item that a message says the citizen lacks ("户口本丢了", "没有劳动合同")."""
    if item is None:
        return []
    lacking = [t for t in citizen_texts if any(cue in t for cue in LACKING_CUES)]
    found: list[str] = []
    for material in [*item.materials, *(m for s in item.situations for m in s.materials)]:
        keys = _material_keys(material.name)
        if material.name not in found and any(key in text for text in lacking for key in keys):
            found.append(material.name)
    return found


def handover_reason(intent: str, text: str) -> str:
    if intent == "door_to_door":
        return "door_to_door"
    if any(word in text for word in _CANNOT_GET_DONE):
        return "cannot_get_done"
    return "human"


TOO_MANY_HANDOVERS = ("这个网络这一小时内转人工的次数已经很多了，暂时无法再开工单。"
                      "请拨打12345政务服务热线，或稍后再试；您也可以继续向我提问。")


def message_channel(tracker: Tracker) -> str:
    """The channel the citizen wrote on, as the service says it (``web``, ``wechat``): every channel reaches
    Rasa through its REST webhook, so Rasa's own input channel is always ``rest``."""
    metadata = tracker.latest_message.get("metadata")
    said = metadata.get("channel") if isinstance(metadata, dict) else None
    if isinstance(said, str) and said:
        return said
    rasa = tracker.get_latest_input_channel()
    if rasa and rasa != "rest":
        return rasa
    return "wechat" if tracker.sender_id.startswith("wechat:") else "web"


def _handover_allowed(tracker: Tracker) -> bool:
    """False only when the service said this message's address has no hand-overs left this hour."""
    metadata = tracker.latest_message.get("metadata")
    return not (isinstance(metadata, dict) and metadata.get("handover_allowed") is False)


def handover_text(ticket: Ticket, zone: tzinfo | None = None, today: date | None = None) -> str:
    """``zone`` is the hall's: tickets come back from the database in UTC. A reply due on another day than
    ``today`` (opened after hours) names that day."""
    local = ticket.reply_due_at.astimezone(zone) if zone else ticket.reply_due_at
    due = local.strftime("%H:%M") if today is None or local.date() == today else f"{format_day(local.date())} {local:%H:%M}"
    door = "请留下您的地址和联系电话，工作人员会和您约定上门时间。" if ticket.reason == "door_to_door" else ""
    return (
        f"已为您转接人工帮办（{REASON_TEXTS.get(ticket.reason, '人工服务')}），工单号 {ticket.number}。"
        f"工作人员将在 {due} 前回复您，请留意本对话。{door}"
        "在工作人员回复前，您在这里留言他们都能看到；也可拨打12345。"
    )


def open_handover(
    dispatcher: CollectingDispatcher, tracker: Tracker, reason: str, hall: HallServices, source: EngineSource,
    channel: str = "web",
) -> list[dict[str, Any]]:
    """Open (or find) the sender's ticket and tell the citizen; over the hand-overs one address may open in an
    hour (the service says so in the message's metadata), say to call instead, and open nothing."""
    if not _handover_allowed(tracker) and hall.tickets.active_for(tracker.sender_id) is None:
        say_text(dispatcher, TOO_MANY_HANDOVERS, HANDOVER)
        logger.warning("handover refused for sender %s: too many from its address this hour", tracker.sender_id)
        return [SlotSet("failures", 0.0)]
    code = tracker.get_slot("item_code")
    record = source.engine().record(code) if code else None
    item = record if isinstance(record, Item) else None
    lines = transcript(tracker.events)
    now = hall.now()
    due = reply_due(now, hall.reply_within, hall.bookings.halls())  # a person answers while the halls are open
    ticket = hall.tickets.open(
        sender_id=tracker.sender_id,
        channel=channel,
        reason=reason,
        item_code=record.code if record else None,
        item_name=record.name if record else None,
        district=tracker.get_slot("district"),
        missing_materials=missing_materials(item, [text for role, text in lines if role == "citizen"]),
        transcript=lines,
        now=now,
        reply_within=due - now,
    )
    say_text(dispatcher, handover_text(ticket, now.tzinfo, today=now.date()), HANDOVER, about=(record.code,) if record else ())
    logger.info("handover %s for sender %s (%s)", ticket.number, tracker.sender_id, reason)
    return [SlotSet("handover_ticket", ticket.number), SlotSet("failures", 0.0)]


class ActionHandover(Action):
    def __init__(self, hall: HallServices | None = None, source: EngineSource | None = None):
        self._hall = hall
        self._source = source

    def name(self) -> str:
        return "action_handover"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        text = (tracker.latest_message.get("text") or "").strip()
        source = self._source or default_source()
        def hall() -> HallServices:  # made only when needed
            return self._hall or default_hall()

        if not asks_for_person(text):
            conversation = ItemConversation(source.engine(), tracker, dispatcher, hall, offer_person=True)
            if intent != "door_to_door" or not any(word in text for word in DOOR_WORDS):
                return conversation.respond()
            # "能上门办吗" is a request for a service: what the guide in context says of it, else a person
            quoted = conversation.quote_current_guide()
            if quoted is not None:
                return quoted
        reason = handover_reason(intent, text)
        channel = message_channel(tracker)
        return open_handover(dispatcher, tracker, reason, hall(), source, channel)
