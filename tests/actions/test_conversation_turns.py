"""What a turn means in the conversation so far: follow-ups inside the guide, families, offers, hand-overs.

The engine runs on the deterministic hashing embedder over the test records (tests/conftest.py), plus a
family of 居民身份证 items where a test needs one.
"""

from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import PERSON_OFFER, REJECT_TEXT
from actions.handover import ActionHandover
from actions.item_actions import ActionAnswerItem
from index.decision import DecisionPolicy
from index.engine import RetrievalEngine
from index.live import StaticEngine
from tests.actions.conftest import SENDER, make_tracker, slots_of
from tests.conftest import HASHING_POLICY, make_item


def _run(action, tracker):
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, domain={})
    return dispatcher.messages, events


def _kind(message: dict) -> str:
    return message["custom"]["daoban"]["kind"]


def _with_offers(text: str, intent: str, offers: list[tuple[str, str]], **kwargs):
    tracker = make_tracker(text, intent, **kwargs)
    tracker.latest_message["metadata"] = {"typed": text, "offers": [{"title": t, "payload": p} for t, p in offers]}
    return tracker


@pytest.fixture
def residence_only(hashing_embedder, tmp_path):
    """One guide and nothing else, and a floor the hashing embedder's unrelated texts stay under (a lone record
    leads by any margin): a follow-up can only be about this guide, and an unrelated question finds nothing."""
    strict = DecisionPolicy(reject_below=0.5, lexical_floor=0.5)
    engine = RetrievalEngine(hashing_embedder, strict, jieba_cache=tmp_path / "jieba-one")
    engine.load([make_item()], revision=1, kb_hash="one")
    return StaticEngine(engine)


@pytest.fixture
def family_source(hashing_embedder, records, tmp_path):
    first = make_item("T-SFZ-001", "居民身份证首次申领", aliases=[], questions=[], domain="身份证", situations=[],
                      summary="年满16周岁的公民首次申领居民身份证。", conditions="年满16周岁的公民应当申领。")
    renew = make_item("T-SFZ-002", "居民身份证换领", aliases=[], questions=[], domain="身份证", situations=[],
                      summary="居民身份证有效期满或损坏的换领新证。")
    engine = RetrievalEngine(hashing_embedder, HASHING_POLICY, jieba_cache=tmp_path / "jieba-family")
    engine.load([*records, first, renew], revision=1, kb_hash="family")
    return StaticEngine(engine)


# ---- inside the guide in context ------------------------------------------------------------------------------------

def test_a_follow_up_about_a_detail_is_answered_by_quoting_the_guide(residence_only, hall_services):
    tracker = make_tracker("要在江川居住多久才行", "nlu_fallback", slots={"item_code": "T-JZ-001"})
    messages, events = _run(ActionAnswerItem(residence_only, hall_services), tracker)
    text = messages[0]["text"]
    assert text.startswith("【居住证申领】办事指南中与您的问题有关的内容：")
    assert "受理条件：在江川市居住半年以上" in text and "第1版" in text
    assert _kind(messages[0]) == "answer" and messages[0]["custom"]["daoban"]["about"] == ["T-JZ-001"]
    assert slots_of(events) == {"item_code": "T-JZ-001", "failures": 0.0}  # the guide in context stays the same


def test_what_the_guide_does_not_say_is_said_and_a_person_offered_the_second_time(residence_only, hall_services):
    tracker = make_tracker("附近有停车场吗", "nlu_fallback", slots={"item_code": "T-JZ-001"})
    messages, events = _run(ActionAnswerItem(residence_only, hall_services), tracker)
    assert messages[0]["text"].startswith("《居住证申领》办事指南中没有写到这一点")
    assert _kind(messages[0]) == "decline" and slots_of(events) == {"failures": 1.0}
    again = make_tracker("停车位好找吗", "nlu_fallback", slots={"item_code": "T-JZ-001", "failures": 1.0})
    messages, events = _run(ActionAnswerItem(residence_only, hall_services), again)
    assert PERSON_OFFER in messages[0]["text"]
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/request_human", "/deny"]
    assert hall_services.tickets.active_for(SENDER) is None


def test_a_message_clearly_about_something_else_is_out_of_scope_even_with_a_guide_in_context(engine_source,
                                                                                             hall_services):
    tracker = make_tracker("明天股市会涨吗", "out_of_scope", slots={"item_code": "T-JZ-001"})
    messages, _ = _run(ActionAnswerItem(engine_source, hall_services), tracker)
    assert messages[0]["text"].startswith(REJECT_TEXT)


def test_another_guide_named_outright_is_a_new_topic(engine_source, hall_services):
    tracker = make_tracker("社保卡丢了怎么办", "ask_item", slots={"item_code": "T-JZ-001"})
    messages, events = _run(ActionAnswerItem(engine_source, hall_services), tracker)
    assert messages[0]["text"].startswith("【社会保障卡挂失补换】") and slots_of(events)["item_code"] == "T-SB-002"


# ---- families and elliptic turns ---------------------------------------------------------------------------------------

def test_that_other_one_of_the_family_is_read_from_the_guide_in_context(family_source, hall_services):
    tracker = make_tracker("那补办呢", "ask_item", slots={"item_code": "T-SFZ-001", "last_aspect": "fee"})
    messages, events = _run(ActionAnswerItem(family_source, hall_services), tracker)
    assert messages[0]["text"].startswith("【居民身份证补领】收费标准：工本费20元")  # the aspect asked before
    assert slots_of(events)["item_code"] == "T-SFZ-003"
    renew = make_tracker("换证呢", "ask_item", slots={"item_code": "T-SFZ-001"})
    assert slots_of(_run(ActionAnswerItem(family_source, hall_services), renew)[1])["item_code"] == "T-SFZ-002"


def test_a_follow_up_denying_what_the_guide_in_context_affirms_moves_to_its_twin(hashing_embedder, records,
                                                                                hall_services, tmp_path):
    placed = make_item("T-HJ-101", "已落实就业单位大中专毕业生户口迁入", aliases=[], questions=[], domain="户籍",
                       situations=[], summary="已落实就业单位的大中专毕业生将户口迁入单位所在地。")
    unplaced = make_item("T-HJ-102", "未落实就业单位大中专毕业生户口迁入", aliases=[], questions=[], domain="户籍",
                         situations=[], summary="未落实就业单位的大中专毕业生将户口迁回原籍或人才市场。")
    engine = RetrievalEngine(hashing_embedder, HASHING_POLICY, jieba_cache=tmp_path / "jieba-polar")
    engine.load([*records, placed, unplaced], revision=1, kb_hash="polar")
    tracker = make_tracker("那没找着工作的呢 我同学到现在还没找着", "ask_item",
                           slots={"item_code": "T-HJ-101", "last_aspect": "materials"})
    messages, events = _run(ActionAnswerItem(StaticEngine(engine), hall_services), tracker)
    assert slots_of(events)["item_code"] == "T-HJ-102"
    assert messages[0]["text"].startswith("【未落实就业单位大中专毕业生户口迁入】所需材料")


# ---- offers ------------------------------------------------------------------------------------------------------------

def test_an_aspect_asked_with_guides_on_offer_asks_again_among_those_guides(engine_source, hall_services):
    offers = [("居民身份证补领", '/ask_item{"item_code":"T-SFZ-003"}'),
              ("社会保障卡挂失补换", '/ask_item{"item_code":"T-SB-002"}')]
    messages, events = _run(ActionAnswerItem(engine_source, hall_services),
                            _with_offers("要带啥", "ask_materials", offers))
    assert messages[0]["text"] == "您问的是哪一项的所需材料？请点选或回复序号："
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        '/ask_materials{"item_code":"T-SFZ-003"}', '/ask_materials{"item_code":"T-SB-002"}']
    assert events == []


def test_examples_come_from_the_base_in_use(engine_source, hall_services):
    messages, _ = _run(ActionAnswerItem(engine_source, hall_services), make_tracker("要带啥", "ask_materials"))
    assert "居住证申领" in messages[0]["text"] or "居民身份证补领" in messages[0]["text"]
    assert "社保卡补办" not in messages[0]["text"]  # a name the test base doesn't have


def test_a_bare_yes_or_no_is_acknowledged_and_a_no_with_a_question_is_answered(engine_source, hall_services):
    messages, events = _run(ActionAnswerItem(engine_source, hall_services), make_tracker("好的", "affirm"))
    assert messages[0]["text"] == "好的。还有什么可以帮您？" and events == []
    heard_as_no = make_tracker("收钱不", "deny", slots={"item_code": "T-SFZ-003"})
    messages, _ = _run(ActionAnswerItem(engine_source, hall_services), heard_as_no)
    assert messages[0]["text"].startswith("【居民身份证补领】收费标准：工本费20元")


# ---- hand-over only when meant ------------------------------------------------------------------------------------------

def test_a_plea_that_a_guide_answers_is_answered_not_handed_over(engine_source, hall_services):
    tracker = make_tracker("社保卡丢了咋整啊", "request_human")
    messages, events = _run(ActionHandover(hall_services, engine_source), tracker)
    assert messages[0]["text"].startswith("【社会保障卡挂失补换】")
    assert hall_services.tickets.active_for(SENDER) is None


def test_a_plea_nobody_can_answer_offers_a_person_and_the_yes_hands_over(residence_only, hall_services):
    engine_source = residence_only
    tracker = make_tracker("跑了三趟都没办成", "request_human")
    messages, events = _run(ActionHandover(hall_services, engine_source), tracker)
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/request_human", "/deny"]
    assert hall_services.tickets.active_for(SENDER) is None
    yes = make_tracker("/request_human", "request_human")  # the button, or a typed yes read as it
    messages, events = _run(ActionHandover(hall_services, engine_source), yes)
    ticket = hall_services.tickets.active_for(SENDER)
    assert ticket is not None and ticket.number in messages[0]["text"] and _kind(messages[0]) == "handover"


def test_asking_for_a_person_in_words_hands_over_at_once(engine_source, hall_services):
    messages, _ = _run(ActionHandover(hall_services, engine_source), make_tracker("我要找工作人员", "request_human"))
    assert hall_services.tickets.active_for(SENDER) is not None


def test_a_proxy_question_is_answered_from_the_guide_in_context(engine_source, hall_services):
    item = make_tracker("能委托别人代办吗", "request_human", slots={"item_code": "T-JZ-001"})
    source = engine_source.engine()
    # the test item says nothing of proxies: the bot says so and offers a person, and opens no ticket
    messages, _ = _run(ActionHandover(hall_services, StaticEngine(source)), item)
    assert hall_services.tickets.active_for(SENDER) is None and messages[0]["buttons"]


def test_door_to_door_is_answered_from_the_guide_when_it_says_so_else_handed_over(hashing_embedder, records,
                                                                                  hall_services, tmp_path):
    visited = make_item("T-CJR-001", "残疾人证新办", aliases=[], questions=[], domain="残疾人", situations=[],
                        summary="申请办理残疾人证。", conditions="行动不便的，可申请上门评定。")
    engine = RetrievalEngine(hashing_embedder, HASHING_POLICY, jieba_cache=tmp_path / "jieba-door")
    engine.load([*records, visited], revision=1, kb_hash="door")
    tracker = make_tracker("我妈腿脚不方便，能上门评定吗", "door_to_door", slots={"item_code": "T-CJR-001"})
    messages, _ = _run(ActionHandover(hall_services, StaticEngine(engine)), tracker)
    assert "上门评定" in messages[0]["text"] and hall_services.tickets.active_for(SENDER) is None
    other = make_tracker("我妈瘫痪在床，能上门帮她办吗", "door_to_door", slots={"item_code": "T-SB-002"})
    _run(ActionHandover(hall_services, StaticEngine(engine)), other)
    assert hall_services.tickets.active_for(SENDER).reason == "door_to_door"
