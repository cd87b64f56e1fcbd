"""A greeting, or a question the NLU took for one.

The intent classifier now and then reads a short question as a greeting: after
one more training example elsewhere, "在哪补" and "在哪换" (asked about the
guide in context) came out as ``greet`` at 0.63-0.86. Answered with the
welcome, the citizen's question is lost and the conversation starts over. So a
message is greeted only when it says a greeting word; anything else goes to the
item conversation, which reads it in the context of the guide and the offers.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.item_actions import ActionAnswerItem

logger = logging.getLogger(__name__)

GREETING_WORDS = ("你好", "您好", "在吗", "在不在", "有人", "哈喽", "哈罗", "hello", "hi", "嗨", "喂", "早上好",
                  "上午好", "中午好", "下午好", "晚上好", "老师好", "师傅", "同志", "打扰", "请问一下", "咨询个事",
                  "问点事", "问个事")


def is_greeting(text: str) -> bool:
    """Whether ``text`` greets (or says nothing at all), as opposed to asking something the NLU took for a hello."""
    said = (text or "").strip().lower()
    return not said or any(word in said for word in GREETING_WORDS)


class ActionGreet(ActionAnswerItem):
    """``action_answer_item`` for anything that is not a greeting."""

    def name(self) -> str:
        return "action_greet"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        text = tracker.latest_message.get("text") or ""
        if is_greeting(text):
            dispatcher.utter_message(response="utter_greet")
            return []
        logger.info("a %r read as a greeting says no greeting word: answered as a question", text[:40])
        return super().run(dispatcher, tracker, domain)
