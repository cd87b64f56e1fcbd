from datetime import timedelta

from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.hall_provider import HallServices
from actions.handover import ActionHandover, handover_reason, missing_materials, transcript
from knowledge.schema import Material
from tests.actions.conftest import NOW, SENDER, bot_event, make_tracker, user_event
from tests.conftest import make_item

ID_NUMBER = "11010119900307123X"
PHONE = "13812345678"


def test_transcript_shows_a_tap_as_its_title_and_a_typed_choice_as_typed():
    events = [
        user_event("居住证怎么办"),
        {"event": "bot", "text": "您是想办理哪一项？", "data": {"buttons": [
            {"title": "居住证申领", "payload": '/ask_item{"item_code":"T-JZ-001"}'},
            {"title": "居住证签注", "payload": '/ask_item{"item_code":"T-JZ-002"}'}]}},
        user_event('/ask_item{"item_code":"T-JZ-002"}'),
        {"event": "bot", "text": "请问预约哪天？", "data": {"buttons": [{"title": "明天", "payload": "/affirm"}]}},
        {"event": "user", "text": "/affirm", "metadata": {"typed": "第一个"}, "parse_data": {}},
        user_event("/restart"),  # offered by nobody: kept as typed
    ]
    assert [text for role, text in transcript(events) if role == "citizen"] == [
        "居住证怎么办", "居住证签注", "第一个", "/restart"]


def test_transcript_keeps_what_was_said_in_order_with_roles():
    events = [
        {"event": "action", "name": "action_session_start"},
        user_event("居住证怎么办"),
        {"event": "slot", "name": "item_code", "value": "T-JZ-001"},
        bot_event("【居住证申领】……"),
        bot_event(""),  # a reply with only buttons says nothing
        {"event": "bot", "text": None, "data": {"image": "x.png"}},
        user_event("  我没有劳动合同  "),
        {"event": "user", "text": "", "parse_data": {}},
    ]
    assert transcript(events) == [
        ("citizen", "居住证怎么办"),
        ("bot", "【居住证申领】……"),
        ("citizen", "我没有劳动合同"),
    ]


def test_missing_materials_are_the_items_materials_the_citizen_says_are_lacking():
    item = make_item(materials=[
        Material(name="居民户口簿", form="原件"),
        Material(name="居民身份证", form="原件", copies=1),
    ])
    assert missing_materials(item, ["我户口本丢了"]) == ["居民户口簿"]
    # a situation's material counts too, and the short name is enough
    assert missing_materials(item, ["没有劳动合同怎么办"]) == ["劳动合同"]
    assert missing_materials(item, ["户口簿找不到了", "身份证也没带"]) == ["居民户口簿", "居民身份证"]
    # naming a material without saying it is lacking is not a missing material
    assert missing_materials(item, ["户口本带了", "劳动合同在这"]) == []
    assert missing_materials(None, ["户口本丢了"]) == []


def test_handover_reason():
    assert handover_reason("door_to_door", "能上门办吗") == "door_to_door"
    assert handover_reason("request_human", "材料交了三次都被退回，办不成") == "cannot_get_done"
    assert handover_reason("request_human", "转人工") == "human"


def _handover(engine_source, hall_services, tracker):
    dispatcher = CollectingDispatcher()
    events = ActionHandover(hall_services, engine_source).run(dispatcher, tracker, domain={})
    return dispatcher.messages, events


def _conversation() -> list[dict]:
    return [
        user_event("我要办居住证，身份证号" + ID_NUMBER, "ask_materials", "wechat"),
        bot_event("请问您在哪个区办理？"),
        user_event("青山区，电话" + PHONE + "，我没有劳动合同", "inform", "wechat"),
    ]


def test_a_wechat_ticket_says_wechat_though_every_message_reaches_rasa_through_rest(engine_source, hall_services):
    tracker = make_tracker("转人工", "request_human", events=[], input_channel="rest",
                           metadata={"channel": "wechat"})
    _handover(engine_source, hall_services, tracker)
    assert hall_services.tickets.active_for(SENDER).channel == "wechat"


def test_handover_opens_one_ticket_with_everything_a_person_needs(engine_source, hall_services):
    tracker = make_tracker("材料不全办不成，转人工", "request_human", slots={"item_code": "T-JZ-001", "district": "青山区"},
                           events=_conversation(), input_channel="wechat")
    messages, events = _handover(engine_source, hall_services, tracker)

    ticket = hall_services.tickets.active_for(SENDER)
    assert ticket is not None
    assert events == [SlotSet("handover_ticket", ticket.number), SlotSet("failures", 0.0)]
    assert (ticket.reason, ticket.channel, ticket.status) == ("cannot_get_done", "wechat", "waiting")
    assert (ticket.item_code, ticket.item_name, ticket.district) == ("T-JZ-001", "居住证申领", "青山区")
    assert ticket.missing_materials == ("劳动合同",)

    stored = hall_services.tickets.get(ticket.number).messages
    assert [m.role for m in stored] == ["citizen", "bot", "citizen", "citizen"]
    texts = "\n".join(m.text for m in stored)
    assert "110" + "*" * 13 + "3X" in texts and "138****5678" in texts
    assert ID_NUMBER not in texts and PHONE not in texts

    [reply] = messages
    assert ticket.number in reply["text"] and "办不成" in reply["text"]
    assert "09:30 前回复" in reply["text"]  # reply_within 30 minutes of 09:00, in the hall's own time
    assert PHONE not in reply["text"] and ID_NUMBER not in reply["text"]


def test_a_second_handover_returns_the_same_ticket(engine_source, hall_services):
    tracker = make_tracker("转人工", "request_human", slots={"item_code": "T-JZ-001"}, events=_conversation())
    _, first = _handover(engine_source, hall_services, tracker)
    messages, second = _handover(engine_source, hall_services, tracker)
    assert first == second
    assert len(hall_services.tickets.list()) == 1
    assert first[0]["value"] in messages[0]["text"]


def test_door_to_door_asks_for_an_address_and_needs_no_item(engine_source, hall_services):
    tracker = make_tracker("老人行动不便，能上门办吗", "door_to_door", input_channel="web")
    messages, _ = _handover(engine_source, hall_services, tracker)
    ticket = hall_services.tickets.active_for(SENDER)
    assert (ticket.reason, ticket.item_code, ticket.district, ticket.missing_materials) == ("door_to_door", None, None, ())
    assert "请留下您的地址和联系电话" in messages[0]["text"]


def test_a_hand_over_at_night_promises_a_reply_after_the_next_opening_and_says_which_day(engine_source,
                                                                                       hall_services, store):
    night = NOW.replace(hour=21)  # Wednesday evening; both halls open Thursday at 09:00
    at_night = HallServices(store.engine, lambda: night, timedelta(minutes=30))
    messages, _ = _handover(engine_source, at_night, make_tracker("转人工", "request_human"))
    ticket = at_night.tickets.active_for(SENDER)
    assert ticket.reply_due_at.astimezone(night.tzinfo) == night.replace(day=26, hour=9, minute=30)
    assert "11月26日（周四） 09:30 前回复" in messages[0]["text"]
