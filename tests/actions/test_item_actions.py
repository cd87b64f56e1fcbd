from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import REJECT_TEXT, ask_which_item
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
    assert events == [SlotSet("item_code", "T-SB-002"), SlotSet("situation", None)]


def test_short_follow_up_keeps_the_item_under_discussion(engine_source):
    messages, events = _run(engine_source, make_tracker("要钱吗？", "ask_fee", slots={"item_code": "T-SFZ-003"}))
    assert messages[0]["text"].startswith("【居民身份证补领】收费标准：工本费20元")
    assert events == [SlotSet("item_code", "T-SFZ-003"), SlotSet("situation", None)]


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
    messages, events = _run(engine_source, tracker)
    assert messages[0]["text"] == ask_which_item("fee") and events == []


def test_aspect_alone_without_an_item_asks_which_item(engine_source):
    messages, events = _run(engine_source, make_tracker("那要多久？", "ask_time"))
    assert messages[0]["text"].startswith("请问您想了解哪个事项的办理时限")
    assert events == []


def test_new_item_switches_the_topic(engine_source):
    tracker = make_tracker("社保卡丢了要带什么", "ask_materials", slots={"item_code": "T-SFZ-003"})
    messages, events = _run(engine_source, tracker)
    assert messages[0]["text"].startswith("【社会保障卡挂失补换】")
    assert events == [SlotSet("item_code", "T-SB-002"), SlotSet("situation", None)]


def test_chosen_situation_is_remembered_for_its_item_only(engine_source):
    tracker = make_tracker('/ask_materials{"item_code":"T-JZ-001","situation":"study"}', "ask_materials",
                           entities=[{"entity": "item_code", "value": "T-JZ-001"}, {"entity": "situation", "value": "study"}])
    messages, events = _run(engine_source, tracker)
    assert messages[0]["text"].startswith("【居住证申领】（因就学申领）所需材料")
    assert events == [SlotSet("item_code", "T-JZ-001"), SlotSet("situation", "study")]

    follow_up = make_tracker("要带啥", "ask_materials", slots={"item_code": "T-JZ-001", "situation": "study"})
    assert _run(engine_source, follow_up)[0][0]["text"].startswith("【居住证申领】（因就学申领）")

    other_item = make_tracker("社保卡丢了要带什么", "ask_materials", slots={"item_code": "T-JZ-001", "situation": "study"})
    assert _run(engine_source, other_item)[1][1] == SlotSet("situation", None)
