from actions.answers import answer_bundle, answer_cross_province, answer_item, suggest
from tests.conftest import make_item


def test_materials_name_the_guide_version_and_mark_skippable_ones():
    reply = answer_item(make_item(version=3), "materials")
    assert reply.text.startswith("【居住证申领】")
    assert "第3版" in reply.text and "更新于2026-10-15" in reply.text
    assert "1. 居民身份证（原件，1份，纸质）——可电子证照免提交" in reply.text
    assert "因务工申领：劳动合同" in reply.text
    assert {b["title"] for b in reply.buttons} == {"办理流程", "办理时限", "收费标准", "办理地点", "网上办理"}


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
    reply = answer_bundle(bundle, {"T-JZ-001": "居住证申领", "T-SB-002": "社会保障卡挂失补换"})
    assert "一件事一次办" in reply.text and "1. 居住证申领" in reply.text
    assert [b["payload"] for b in reply.buttons] == ['/ask_item{"item_code":"T-JZ-001"}', '/ask_item{"item_code":"T-SB-002"}']
    assert "全程网办" in answer_cross_province(cross).text


def test_suggestions_are_buttons_for_the_same_aspect():
    reply = suggest([("A", "item", "社会保障卡挂失补换"), ("B", "cross_province", "社会保障卡挂失补换")], "fee")
    assert [b["payload"] for b in reply.buttons] == ['/ask_fee{"item_code":"A"}', '/ask_fee{"item_code":"B"}']
    assert [b["title"] for b in reply.buttons] == ["社会保障卡挂失补换", "社会保障卡挂失补换（跨省通办）"]
