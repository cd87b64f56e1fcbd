"""Which guide a bot message came from, read from its source line and looked up by name."""

from actions.answers import answer_record, not_cross_province
from journal.sources import CitedGuide, GuideNames, GuideRef, cited_guide
from knowledge.schema import CrossProvinceEntry
from tests.conftest import make_item


def _lookup(records):
    by_code = {r.code: r for r in records}
    return by_code.get


def test_the_source_line_names_guide_version_and_kind(records):
    item, _, _, bundle, cross = records
    assert cited_guide(answer_record(item, "fee", _lookup(records)).text) == CitedGuide("居住证申领", 1, "item")
    assert cited_guide(answer_record(bundle, "overview", _lookup(records)).text).kind == "bundle"
    assert cited_guide(answer_record(cross, "overview", _lookup(records)).text) == CitedGuide(
        "养老保险关系转移接续", 1, "cross_province")
    assert cited_guide(not_cross_province(item).text).kind == "item"
    assert cited_guide("您好，请问您要办什么？") is None and cited_guide("") is None


def test_a_name_with_brackets_is_read_whole():
    text = "【《新》证明】…\n（来源：《《新》证明》办事指南 第12版，更新于2026-10-15）"
    assert cited_guide(text) == CitedGuide("《新》证明", 12, "item")


def test_names_resolve_to_codes_and_an_item_is_told_from_its_cross_province_twin(store, records):
    item = records[0]
    twin = CrossProvinceEntry(code="T-KS-JZ", name=item.name, item_code=item.code, modes=["全程网办"],
                              scope="全国范围", how_to_apply="通过国家政务服务平台申请。")
    store.import_records([item, twin, records[3]], actor="test")
    names = GuideNames(store.engine)
    lookup = _lookup([item, twin, records[3]])
    assert names.resolve(answer_record(item, "materials", lookup).text) == GuideRef("T-JZ-001", 1)
    assert names.resolve(answer_record(twin, "overview", lookup).text) == GuideRef("T-KS-JZ", 1)
    assert names.resolve(answer_record(records[3], "overview", lookup).text) == GuideRef("T-BD-001", 1)
    assert names.resolve("您好") is None
    assert names.resolve(answer_record(make_item("X-1", "没有这个事项"), "fee", lookup).text) is None
