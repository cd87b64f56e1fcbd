from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import REJECT_TEXT
from actions.item_actions import ActionAnswerItem
from tests.actions.conftest import make_tracker


def _run(source, tracker):
    dispatcher = CollectingDispatcher()
    events = ActionAnswerItem(source).run(dispatcher, tracker, domain={})
    return dispatcher.messages, events


def test_question_is_answered_from_the_retrieved_guide(engine_source):
    messages, events = _run(engine_source, make_tracker("社保卡丢了怎么补办，要带什么", "ask_materials"))
    assert messages[0]["text"].startswith("【社会保障卡挂失补换】所需材料")
    assert "第1版" in messages[0]["text"]
    assert events == [SlotSet("item_code", "T-SB-002")]


def test_short_follow_up_keeps_the_item_under_discussion(engine_source):
    messages, events = _run(engine_source, make_tracker("要钱吗？", "ask_fee", slots={"item_code": "T-SFZ-003"}))
    assert messages[0]["text"].startswith("【居民身份证补领】收费标准：工本费20元")
    assert events == [SlotSet("item_code", "T-SFZ-003")]


def test_button_payload_picks_the_item_exactly(engine_source):
    tracker = make_tracker('/ask_place{"item_code":"T-JZ-001"}', "ask_place",
                           entities=[{"entity": "item_code", "value": "T-JZ-001"}])
    messages, _ = _run(engine_source, tracker)
    assert messages[0]["text"].startswith("【居住证申领】办理地点")


def test_out_of_scope_is_declined_with_the_hotline(engine_source):
    messages, events = _run(engine_source, make_tracker("明天股市会涨吗", "nlu_fallback"))
    assert messages[0]["text"] == REJECT_TEXT and "12345" in REJECT_TEXT
    assert events == []


def test_unknown_item_code_is_not_trusted(engine_source):
    tracker = make_tracker('/ask_fee{"item_code":"NOPE"}', "ask_fee", entities=[{"entity": "item_code", "value": "NOPE"}])
    messages, _ = _run(engine_source, tracker)
    assert messages[0]["text"] == REJECT_TEXT
