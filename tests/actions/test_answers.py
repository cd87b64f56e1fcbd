from actions.answers import answer_bundle, answer_cross_province, answer_item, suggest
from tests.conftest import make_item


def test_materials_name_the_guide_version_and_mark_skippable_ones():
    reply = answer_item(make_item(version=3, situations=[]), "materials")
    assert reply.text.startswith("【居住证申领】所需材料")
    assert "第3版" in reply.text and "更新于2026-10-15" in reply.text
    assert "1. 居民身份证（原件，1份）——可电子证照免提交" in reply.text
    assert {b["title"] for b in reply.buttons} == {"办理流程", "办理时限", "收费标准", "办理地点", "网上办理"}


def test_item_with_situations_asks_which_applies_instead_of_listing_all():
    reply = answer_item(make_item(), "materials")
    assert "请选择您的情形" in reply.text and "劳动合同" not in reply.text
    assert [b["payload"] for b in reply.buttons] == [
        '/ask_materials{"item_code":"T-JZ-001","situation":"work"}',
        '/ask_materials{"item_code":"T-JZ-001","situation":"study"}',
    ]
    chosen = answer_item(make_item(), "materials", situation="work")
    assert chosen.text.startswith("【居住证申领】（因务工申领）所需材料")
    assert "3. 劳动合同（复印件）\n" in chosen.text and "学生证" not in chosen.text


def test_time_limits_are_copied_not_invented():
    text = answer_item(make_item(), "time").text
    assert "法定时限：15个工作日" in text and "承诺时限：7个工作日" in text
    assert "青山区5个工作日" in text
    unstated = answer_item(make_item(statutory_limit_days=None, promised_limit_days=None, districts=[]), "time").text
    assert "指南未载明" in unstated and "工作日" not in unstated.split("（来源")[0]


def test_on_the_spot_and_fee():
    item = make_item(statutory_limit_days=0, promised_limit_days=0, fee={"charged": True, "standard": "工本费20元"})
    assert "即办（当场办结）" in answer_item(item, "time").text
    assert "收费标准：工本费20元" in answer_item(item, "fee").text
    assert "本事项不收费" in answer_item(make_item(), "fee").text


def test_place_lists_each_district():
    text = answer_item(make_item(), "place").text
    assert "青山区：青山区政务服务中心（长宁路88号）" in text and "0799-86654321" in text


def test_bundle_and_cross_province(records):
    bundle, cross = records[3], records[4]
    reply = answer_bundle(bundle, {"T-JZ-001": records[0], "T-SB-002": records[1]})
    assert "一件事一次办" in reply.text and "1. 居住证申领" in reply.text
    assert [b["payload"] for b in reply.buttons] == ['/ask_item{"item_code":"T-JZ-001"}', '/ask_item{"item_code":"T-SB-002"}']
    assert "全程网办" in answer_cross_province(cross).text


def test_suggestions_are_buttons_for_the_same_aspect():
    reply = suggest([("A", "item", "社会保障卡挂失补换"), ("B", "cross_province", "社会保障卡挂失补换")], "fee")
    assert [b["payload"] for b in reply.buttons] == ['/ask_fee{"item_code":"A"}', '/ask_fee{"item_code":"B"}']
    assert [b["title"] for b in reply.buttons] == ["社会保障卡挂失补换", "社会保障卡挂失补换（跨省通办）"]


def test_what_the_source_does_not_say_is_not_invented():
    from knowledge.schema import Material

    item = make_item(materials=[Material(name="残疾人证")], situations=[], online_depth=None, visits=None)
    text = answer_item(item, "materials").text
    assert "1. 残疾人证\n" in text and "原件" not in text and "份" not in text.split("（来源")[0]
    online = answer_item(item, "online").text
    assert "网办程度：指南未载明" in online and "跑动次数指南未载明" in online


def test_bundle_answer_looks_up_only_its_member_items(records):
    from actions.answers import answer_record

    by_code = {r.code: r for r in records}
    asked: list[str] = []
    reply = answer_record(records[3], "overview", lambda code: asked.append(code) or by_code.get(code))
    assert asked == ["T-JZ-001", "T-SB-002"]
    assert "1. 居住证申领" in reply.text and "2. 社会保障卡挂失补换" in reply.text
