"""Answering questions about items, bundles and cross-province entries.

The item a citizen means comes from the retrieval engine, never from an NLU
entity: adding a guide must not require retraining the dialogue model. NLU only
says which aspect is asked (materials, fee, …); a follow-up like "要钱吗？"
keeps the item of the previous answer.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import REJECT_TEXT, Reply, answer_record, ask_which_item, suggest
from actions.engine_provider import default_source
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
}
# A short aspect-only follow-up ("要钱吗？") is about the item already under discussion.
FOLLOW_UP_MAX_CHARS = 12


class ActionAnswerItem(Action):
    def __init__(self, source: EngineSource | None = None):
        self._source = source

    def name(self) -> str:
        return "action_answer_item"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        engine = (self._source or default_source()).engine()
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        aspect = INTENT_ASPECTS.get(intent, "overview")
        text = (tracker.latest_message.get("text") or "").strip()
        chosen = _entity(tracker, "item_code")
        current = tracker.get_slot("item_code")
        named_situation = _entity(tracker, "situation")
        remembered_situation = tracker.get_slot("situation")

        def situation_for(code: str) -> str | None:
            # a situation code means something only within the item it was chosen for
            return named_situation or (remembered_situation if code == current else None)

        if chosen and engine.record(chosen):
            return self._answer(dispatcher, engine, chosen, aspect, situation_for(chosen))
        has_current = bool(current and engine.record(current))
        if not text or text.startswith("/") or not engine.has_content(text):
            if has_current:
                return self._answer(dispatcher, engine, current, aspect, situation_for(current))
            if aspect != "overview":
                dispatcher.utter_message(text=ask_which_item(aspect))
                return []
            dispatcher.utter_message(text=REJECT_TEXT)
            return []
        result = engine.search(text)
        if result.decision == "answer":
            code = result.shown[0].code
            return self._answer(dispatcher, engine, code, aspect, situation_for(code))
        if has_current and aspect != "overview" and len(text) <= FOLLOW_UP_MAX_CHARS:
            return self._answer(dispatcher, engine, current, aspect, situation_for(current))
        if result.decision == "suggest":
            _send(dispatcher, suggest([(c.code, c.kind, c.name) for c in result.shown], aspect))
            return []
        dispatcher.utter_message(text=REJECT_TEXT)
        return []

    @staticmethod
    def _answer(
        dispatcher: CollectingDispatcher, engine: RetrievalEngine, code: str, aspect: str, situation: str | None = None
    ) -> list[dict[str, Any]]:
        record = engine.record(code)
        assert record is not None
        known = isinstance(record, Item) and any(s.code == situation for s in record.situations)
        situation = situation if known else None
        _send(dispatcher, answer_record(record, aspect, engine.record, situation))
        logger.info("answered %s (v%d) aspect=%s situation=%s", record.code, record.version, aspect, situation)
        return [SlotSet("item_code", record.code), SlotSet("situation", situation)]


def _entity(tracker: Tracker, name: str) -> str | None:
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == name and entity.get("value"):
            return str(entity["value"])
    return None


def _send(dispatcher: CollectingDispatcher, reply: Reply) -> None:
    dispatcher.utter_message(text=reply.text, buttons=reply.buttons or None)
