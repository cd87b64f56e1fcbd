"""A greeting is greeted; a question the NLU took for a greeting is answered in the conversation's context."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions.greeting import ActionGreet, is_greeting
from tests.actions.conftest import make_tracker


def _run(action, tracker):
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, domain={})
    return dispatcher.messages, events


def test_greeting_words_are_greetings_and_questions_are_not():
    for text in ("你好", "您好，想咨询个事", "在吗", "Hello", "喂，听得到不", "老师好", ""):
        assert is_greeting(text), text
    for text in ("在哪补", "在哪换", "我在南关", "要带啥", "多久能办好"):
        assert not is_greeting(text), text


def test_a_greeting_gets_the_welcome(engine_source, hall_services):
    messages, events = _run(ActionGreet(engine_source, hall_services), make_tracker("你好呀", "greet"))
    assert [m["response"] for m in messages] == ["utter_greet"] and events == []


def test_a_question_read_as_a_greeting_is_answered_about_the_guide_in_context(engine_source, hall_services):
    tracker = make_tracker("在哪办", "greet", slots={"item_code": "T-JZ-001", "last_aspect": "materials"})
    messages, _ = _run(ActionGreet(engine_source, hall_services), tracker)
    assert messages and all(m.get("response") != "utter_greet" for m in messages)
    assert messages[0]["text"].startswith("【居住证申领】")  # the guide in context, asked where (by district)
