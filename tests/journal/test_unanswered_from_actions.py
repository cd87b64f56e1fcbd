"""The action server notes the questions it declines in the journal, and answers even when the journal fails."""

import logging

from rasa_sdk.executor import CollectingDispatcher

from actions.answers import REJECT_TEXT
from actions.item_actions import ActionAnswerItem
from tests.actions.conftest import engine_source, hall_services, make_tracker  # noqa: F401  (fixtures)


def _run(source, hall, text, intent="nlu_fallback"):
    dispatcher = CollectingDispatcher()
    ActionAnswerItem(source, hall).run(dispatcher, make_tracker(text, intent), domain={})
    return dispatcher.messages


def test_declined_questions_are_noted_with_the_decision(engine_source, hall_services, store):  # noqa: F811
    _run(engine_source, hall_services, "明天股市会涨吗")
    _run(engine_source, hall_services, "嗯嗯嗯")
    _run(engine_source, hall_services, '/ask_item{"item_code":"NOPE"}', "ask_item")  # a payload: not a question
    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT text, decision FROM unanswered ORDER BY id").all()
    assert [tuple(r) for r in rows] == [("明天股市会涨吗", "reject"), ("嗯嗯嗯", "fallback")]


def test_a_failing_journal_does_not_keep_the_citizen_waiting(engine_source, hall_services, caplog):  # noqa: F811
    class Broken:
        def note_unanswered(self, *args, **kwargs):
            raise RuntimeError("database gone")

    hall_services.journal = Broken()
    with caplog.at_level(logging.ERROR, logger="actions.item_actions"):
        messages = _run(engine_source, hall_services, "明天股市会涨吗")
    assert messages[0]["text"].startswith(REJECT_TEXT)
    assert "could not note" in caplog.text
