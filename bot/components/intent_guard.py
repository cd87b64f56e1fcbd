"""Booking intents only for messages that speak of a booking; a plain request to book is one.

DIET hears "预约" in patterns as much as in words: "旧护照上的签证能留着不" and
"那没找着工作的呢" have come out as ``cancel_appointment`` and
``query_appointment``, which starts a form asking for a booking reference.
Every way of asking to book, look up or cancel an appointment names it
(预约, 约, 号, a YY reference, 取消 …), in any base and any dialect, so an
intent of these whose words are missing falls back to the next intent in the
ranking that is not guarded, or whose words are there. The other way round,
a message that asks to book in so many words ("想预约下周三去补办",
"帮我约个号") is ``book_appointment`` whatever else DIET heard in it (a story
about a lost card is heard as the card's item). Button payloads
(``/cancel_appointment``) are taken as they are.

This runs inside Rasa's Python (3.10) and imports nothing of Daoban's.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

BOOKING_WORDS = ("预约", "约", "挂号", "取号", "排号", "预定", "预订", "号")
GUARDED = {
    "book_appointment": BOOKING_WORDS,
    "query_appointment": (*BOOKING_WORDS, "yy", "YY"),
    "cancel_appointment": (*BOOKING_WORDS, "yy", "YY", "取消", "不去了", "去不了"),
}


# asking to book, not asking whether one can ("能网上预约吗" stays a question about the item)
BOOKING_REQUESTS = ("想预约", "要预约", "我预约", "帮我预约", "给我预约", "预约一下", "预约个", "预约去", "预约下周",
                    "预约明天", "预约后天", "预约这周", "约个号", "约个时间", "挂个号", "取个号")
QUERY_REQUESTS = ("查预约", "查一下预约", "查询预约", "查查预约", "我的预约")
CANCEL_REQUESTS = ("取消预约", "取消刚才", "取消我的预约", "预约取消")


def requested(text: str) -> str | None:
    """The booking intent a message asks for in so many words, or None."""
    if any(p in text for p in CANCEL_REQUESTS):
        return "cancel_appointment"
    if any(p in text for p in QUERY_REQUESTS):
        return "query_appointment"
    if any(p in text for p in BOOKING_REQUESTS):
        return "book_appointment"
    return None


def allowed(intent: str | None, text: str) -> bool:
    words = GUARDED.get(intent or "")
    return words is None or any(word in text for word in words)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class IntentGuard(GraphComponent):
    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> IntentGuard:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._guard(message)
        return messages

    @staticmethod
    def _guard(message: Message) -> None:
        text = message.get(TEXT) or ""
        intent = message.get(INTENT) or {}
        if text.startswith("/"):
            return
        asked = requested(text)
        if asked is not None and intent.get(INTENT_NAME_KEY) != asked:
            # the words say it outright: as sure as a rule, whatever DIET's confidence was
            message.set(INTENT, {INTENT_NAME_KEY: asked, PREDICTED_CONFIDENCE_KEY: 1.0}, add_to_output=True)
            return
        if allowed(intent.get(INTENT_NAME_KEY), text):
            return
        for candidate in message.get(INTENT_RANKING_KEY) or []:
            name = candidate.get(INTENT_NAME_KEY)
            if name and allowed(name, text):
                message.set(INTENT, {INTENT_NAME_KEY: name,
                                     PREDICTED_CONFIDENCE_KEY: candidate.get(PREDICTED_CONFIDENCE_KEY)},
                            add_to_output=True)
                return
