"""Answering questions about items, bundles and cross-province entries.

The item a citizen means comes from the retrieval engine, never from an NLU
entity: adding a guide must not require retraining the dialogue model. NLU only
says which aspect is asked (materials, fee, …); a follow-up like "要钱吗？"
keeps the item of the previous answer. Where the answer differs by district the
bot asks which district first; two questions in a row it cannot place hand
the conversation to a person.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import (
    REJECT_TEXT,
    Reply,
    answer_record,
    ask_district,
    ask_which_item,
    not_cross_province,
    suggest,
)
from actions.districts import DISTRICT_ASPECTS, district_named, needs_district
from actions.engine_provider import default_source
from actions.hall_provider import HallServices, default_hall
from actions.handover import open_handover
from actions.safety import HOSTILE_TEXT, looks_like_injection
from index.engine import RetrievalEngine
from index.live import EngineSource
from knowledge.schema import Item

logger = logging.getLogger(__name__)

INTENT_ASPECTS = {
    "ask_materials": "materials",
    "ask_procedure": "procedure",
    "ask_time": "time",
    "ask_fee": "fee",
    "ask_place": "place",
    "ask_online": "online",
    "ask_cross_province": "cross_province",
    "ask_bundle": "bundle",
}
# A short aspect-only follow-up ("要钱吗？") is about the item already under discussion.
FOLLOW_UP_MAX_CHARS = 12
FAILURES_BEFORE_HANDOVER = 2
RETRY_HINT = "您可以换个说法再问一次，或说“转人工”由工作人员帮您。"


class ActionAnswerItem(Action):
    def __init__(self, source: EngineSource | None = None, hall: HallServices | None = None):
        self._source = source
        self._hall = hall

    def name(self) -> str:
        return "action_answer_item"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        source = self._source or default_source()
        turn = _Turn(source.engine(), tracker)
        if looks_like_injection(turn.text):
            dispatcher.utter_message(text=HOSTILE_TEXT)
            return []
        if turn.chosen and turn.engine.record(turn.chosen):
            return turn.answer(dispatcher, turn.chosen)
        if turn.intent == "inform" and turn.has_current:
            return turn.answer(dispatcher, turn.current, turn.pending_aspect or "overview")
        if turn.intent == "inform" and turn.named_district:
            dispatcher.utter_message(text=f"好的，已记下您在{turn.named_district}办理。请问您要办理什么事项？")
            return [SlotSet("district", turn.named_district)]
        if not turn.text or turn.text.startswith("/") or not turn.engine.has_content(turn.text):
            if turn.has_current:
                return turn.answer(dispatcher, turn.current)
            if turn.aspect != "overview":
                dispatcher.utter_message(text=ask_which_item(turn.aspect))
                return []
            return self._failed(dispatcher, tracker, source, "fallback")
        result = turn.engine.search(turn.text)
        if result.decision == "answer":
            return turn.answer(dispatcher, result.shown[0].code)
        if turn.has_current and turn.aspect != "overview" and len(turn.text) <= FOLLOW_UP_MAX_CHARS:
            return turn.answer(dispatcher, turn.current)
        if result.decision == "suggest":
            bundles = [c for c in result.shown if c.kind == "bundle"]
            if turn.aspect == "bundle" and len(bundles) == 1:
                return turn.answer(dispatcher, bundles[0].code)
            _send(dispatcher, suggest([(c.code, c.kind, c.name) for c in result.shown], turn.aspect))
            return [SlotSet("failures", 0.0)]
        return self._failed(dispatcher, tracker, source, "reject")

    def _failed(self, dispatcher: CollectingDispatcher, tracker: Tracker, source: EngineSource,
                decision: str) -> list[dict[str, Any]]:
        """``decision``: ``reject`` (retrieval found no guide) or ``fallback`` (nothing to search for)."""
        hall = self._hall or default_hall()
        _note_unanswered(hall, tracker, decision)
        failures = int(tracker.get_slot("failures") or 0) + 1
        if failures >= FAILURES_BEFORE_HANDOVER:
            channel = tracker.get_latest_input_channel() or "web"
            events = open_handover(dispatcher, tracker, "repeated_failure", hall, source, channel)
            return [SlotSet("failures", 0.0), *events]
        dispatcher.utter_message(text=f"{REJECT_TEXT}{RETRY_HINT}")
        return [SlotSet("failures", float(failures))]


class _Turn:
    """What this turn says: the intent's aspect, the item in play, the district named."""

    def __init__(self, engine: RetrievalEngine, tracker: Tracker):
        self.engine = engine
        self.intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        self.aspect = INTENT_ASPECTS.get(self.intent, "overview")
        self.text = (tracker.latest_message.get("text") or "").strip()
        self.chosen = _entity(tracker, "item_code")
        self.current = tracker.get_slot("item_code")
        self.has_current = bool(self.current and engine.record(self.current))
        self.pending_aspect = tracker.get_slot("pending_aspect")
        self.named_district = _entity(tracker, "district")
        self.remembered_district = tracker.get_slot("district")
        self.named_situation = _entity(tracker, "situation")
        self.remembered_situation = tracker.get_slot("situation")

    def situation_for(self, code: str) -> str | None:
        # a situation code means something only within the item it was chosen for
        return self.named_situation or (self.remembered_situation if code == self.current else None)

    def district_for(self, item: Item) -> str | None:
        offered = [v.district for v in item.districts]
        for said in (self.named_district, self.text, self.remembered_district):
            found = district_named(said or "", offered)
            if found:
                return found
        return None

    def answer(self, dispatcher: CollectingDispatcher, code: str, aspect: str | None = None) -> list[dict[str, Any]]:
        aspect = aspect or self.aspect
        record = self.engine.record(code)
        assert record is not None
        if isinstance(record, Item) and aspect == "cross_province":
            twin = self.engine.cross_province_for(record.code)
            if twin is None:
                _send(dispatcher, not_cross_province(record))
                return [SlotSet("item_code", record.code), SlotSet("failures", 0.0)]
            record = self.engine.record(twin)
            assert record is not None
        district = self.district_for(record) if isinstance(record, Item) else None
        if isinstance(record, Item) and aspect in DISTRICT_ASPECTS and district is None and needs_district(record, aspect):
            _send(dispatcher, ask_district(record, aspect))
            return [SlotSet("item_code", record.code), SlotSet("pending_aspect", aspect), SlotSet("failures", 0.0)]
        situation = self.situation_for(record.code)
        known = isinstance(record, Item) and any(s.code == situation for s in record.situations)
        situation = situation if known else None
        reply_aspect = aspect if aspect not in ("bundle", "cross_province") else "overview"
        _send(dispatcher, answer_record(record, reply_aspect, self.engine.record, situation, district))
        logger.info("answered %s (v%d) aspect=%s situation=%s district=%s",
                    record.code, record.version, aspect, situation, district)
        events = [SlotSet("item_code", record.code), SlotSet("situation", situation),
                  SlotSet("pending_aspect", None), SlotSet("failures", 0.0)]
        if district:
            events.append(SlotSet("district", district))
        return events


def _note_unanswered(hall: HallServices, tracker: Tracker, decision: str) -> None:
    """Keep the question for the editors' to-do list; the citizen's reply never waits on it failing."""
    text = (tracker.latest_message.get("text") or "").strip()
    if not text or text.startswith("/"):  # a button's payload is no question an editor could answer
        return
    try:
        hall.journal.note_unanswered(tracker.sender_id, text, decision, now=hall.now())
    except Exception:
        logger.exception("could not note the unanswered question of %s", tracker.sender_id)


def _entity(tracker: Tracker, name: str) -> str | None:
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == name and entity.get("value"):
            return str(entity["value"])
    return None


def _send(dispatcher: CollectingDispatcher, reply: Reply) -> None:
    dispatcher.utter_message(text=reply.text, buttons=reply.buttons or None)
