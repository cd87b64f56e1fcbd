"""The provincial spreadsheet exports: grouping, validation, dispatch, and the real Changchun files.

Synthetic .xlsx workbooks are written with openpyxl; .xls cannot be written here
(no xlwt), so the materials format is tested through its row-grouping function
with plain tuples, and end to end on the real file when /work/shared is present.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import openpyxl
import pytest

from knowledge.errors import ImportRefused
from knowledge.schema import Item
from knowledge.sheets.guide import GUIDE_COLUMNS, guide_items_from_rows
from knowledge.sheets.materials import MATERIAL_COLUMNS, material_items_from_rows
from knowledge.sheets.rules import parse_limit_days
from knowledge.sheets.table import read_workbook_rows, short_hash
from knowledge.spreadsheet import read_guide_workbook, read_materials_workbook, read_records
from knowledge.store import record_to_json

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "jilin-changchun"
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="the real Changchun exports are not present")

PLACE = {"朝阳区": "朝阳区政务服务中心一楼综合窗口", "南关区": "南关区政务服务中心综合窗口"}
HOURS = "星期一至星期五09:00-17:00"
PHONE = {"朝阳区": "0431-85000001", "南关区": "0431-85000002"}
CONDITIONS = "本地户籍。"


def guide_row(district="朝阳区", main="居民身份证换领", handling="无", limit="5", fee="是", situation="无情形",
              material="居民身份证", **overrides) -> dict:
    row = {
        "区划名称": district, "上级区划名称": "长春市,吉林省", "主项名称": main, "业务办理项名称": handling,
        "承诺办结时限": limit, "是否收费": fee, "受理条件": CONDITIONS, "办理地点": PLACE.get(district, "某地政务服务中心"),
        "办理时间": HOURS, "咨询方式": PHONE.get(district, "0431-85000009"), "情形": situation, "材料名称": material,
    }
    row.update(overrides)
    return row


def write_xlsx(path: Path, rows: list[dict], columns=GUIDE_COLUMNS) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(columns))
    for row in rows:
        sheet.append([row.get(c) for c in columns])
    workbook.save(path)
    return path


def sample_rows() -> list[dict]:
    return [
        guide_row("朝阳区", material="居民身份证"),
        guide_row("朝阳区", situation="户口迁出后换领", material="户口迁移证明"),
        guide_row("南关区", limit="即办", material="居民身份证"),
        guide_row("南关区", limit="即办", material="近期免冠照片"),
        guide_row("南关区", limit="即办", situation="户口迁出后换领", material="户口迁移证明"),
        guide_row("朝阳区", main="户口迁移审批", handling="随军家属户口迁入", limit="", fee="否", material="部队证明"),
        guide_row("朝阳区", main="残疾人证迁移", handling="居住地申请", fee="否", material="残疾人证"),
        guide_row("朝阳区", main="残疾人证迁移", handling="居住地申请", fee="否", material="残疾人证"),  # repeated row
    ]


def by_name(items: list[Item]) -> dict[str, Item]:
    return {i.name: i for i in items}


# ---- the guide workbook (.xlsx) ---------------------------------------------------


def test_guide_rows_become_one_item_per_handling_item(tmp_path):
    items = by_name(read_guide_workbook(write_xlsx(tmp_path / "guide.xlsx", sample_rows())))

    assert set(items) == {"居民身份证换领", "随军家属户口迁入", "残疾人证迁移（居住地申请）"}
    id_card = items["居民身份证换领"]
    assert id_card.code == "JL-" + short_hash("居民身份证换领", "")
    assert (id_card.domain, id_card.item_type, id_card.audience) == ("身份证", "行政确认", ["个人"])
    assert id_card.department == "长春市各县（市、区）公安机关"
    assert id_card.conditions == CONDITIONS
    assert id_card.fee.charged and "收费标准" in id_card.fee.standard

    assert [m.name for m in id_card.materials] == ["居民身份证", "近期免冠照片"]
    assert id_card.materials[0].note == ""
    assert id_card.materials[1].note == "仅南关区列出此材料"  # the union, and who asked for it
    assert [(s.name, [m.name for m in s.materials]) for s in id_card.situations] == [("户口迁出后换领", ["户口迁移证明"])]

    variants = {v.district: v for v in id_card.districts}
    assert variants["朝阳区"].place == PLACE["朝阳区"] and variants["南关区"].phone == PHONE["南关区"]
    assert (variants["朝阳区"].promised_limit_days, variants["南关区"].promised_limit_days) == (5, 0)
    assert id_card.promised_limit_days == 5  # a promise every district keeps

    moving = items["随军家属户口迁入"]
    assert moving.aliases == ["户口迁移审批"] and moving.domain == "户籍" and not moving.fee.charged
    assert moving.promised_limit_days is None
    disability = items["残疾人证迁移（居住地申请）"]
    assert disability.aliases == ["残疾人证迁移"] and disability.item_type == "公共服务"
    assert [m.name for m in disability.materials] == ["残疾人证"]  # the repeated row is merged


def test_guide_codes_are_stable_across_reads_and_row_order(tmp_path):
    first = read_guide_workbook(write_xlsx(tmp_path / "a.xlsx", sample_rows()))
    second = read_guide_workbook(write_xlsx(tmp_path / "b.xlsx", list(reversed(sample_rows()))))
    assert sorted(i.code for i in first) == sorted(i.code for i in second)
    situation_codes = {s.name: s.code for i in first for s in i.situations}
    assert situation_codes == {s.name: s.code for i in second for s in i.situations}


def test_fee_and_conditions_that_differ_by_district_are_written_out(tmp_path):
    rows = [guide_row("朝阳区", fee="是"), guide_row("南关区", fee="否", 受理条件="本地户籍或居住证。")]
    report = guide_items_from_rows(read_workbook_rows(write_xlsx(tmp_path / "g.xlsx", rows)), "g.xlsx")
    item = report.items[0]
    assert item.fee.charged and "朝阳区收费" in item.fee.standard and "南关区不收费" in item.fee.standard
    assert "【朝阳区】本地户籍。" in item.conditions and "【南关区】本地户籍或居住证。" in item.conditions
    assert len(report.notes) == 2


def test_missing_column_is_refused_naming_it_and_nothing_is_imported(tmp_path, store):
    columns = [c for c in GUIDE_COLUMNS if c != "材料名称"]
    path = write_xlsx(tmp_path / "renamed.xlsx", sample_rows(), columns=columns)
    with pytest.raises(ImportRefused) as refused:
        store.import_records(read_records([path]), actor="test")
    assert [(p.file, p.row, p.field) for p in refused.value.problems] == [(str(path), 1, "材料名称")]
    assert store.count() == 0 and store.revision() == 0


def test_unknown_column_is_refused(tmp_path):
    path = write_xlsx(tmp_path / "extra.xlsx", [dict(guide_row(), 备注="x")], columns=(*GUIDE_COLUMNS, "备注"))
    with pytest.raises(ImportRefused) as refused:
        read_guide_workbook(path)
    assert [(p.row, p.field) for p in refused.value.problems] == [(1, "备注")]


def test_every_bad_row_is_reported_with_its_row_and_column(tmp_path, store):
    rows = sample_rows()
    rows[1]["材料名称"] = None                     # row 3
    rows[3]["承诺办结时限"] = "五天"                 # row 5
    rows[5]["业务办理项名称"] = ""                   # row 7
    path = write_xlsx(tmp_path / "bad.xlsx", rows)
    with pytest.raises(ImportRefused) as refused:
        store.import_records(read_records([path]), actor="test")
    found = {(p.row, p.field) for p in refused.value.problems}
    assert found == {(3, "材料名称"), (5, "承诺办结时限"), (7, "业务办理项名称")}
    assert f"{path}: row 3: 材料名称:" in str(refused.value)
    assert store.count() == 0


def test_a_district_that_contradicts_itself_is_reported(tmp_path):
    rows = [guide_row("朝阳区"), guide_row("朝阳区", material="照片", 办理地点="另一个地方")]
    with pytest.raises(ImportRefused) as refused:
        read_guide_workbook(write_xlsx(tmp_path / "g.xlsx", rows))
    [problem] = refused.value.problems
    assert (problem.row, problem.field) == (3, "办理地点") and "row 2" in problem.message


def test_a_main_item_no_rule_covers_is_reported_once(tmp_path):
    rows = [guide_row(main="营业执照办理"), guide_row(main="营业执照办理", material="章程")]
    with pytest.raises(ImportRefused) as refused:
        read_guide_workbook(write_xlsx(tmp_path / "g.xlsx", rows))
    assert [(p.row, p.field) for p in refused.value.problems] == [(2, "主项名称")]


def test_blank_rows_are_skipped_but_keep_the_numbering():
    header = list(GUIDE_COLUMNS)
    good = [guide_row()[c] for c in GUIDE_COLUMNS]
    bad = [guide_row(材料名称="")[c] for c in GUIDE_COLUMNS]
    with pytest.raises(ImportRefused) as refused:
        guide_items_from_rows([header, good, [None] * 12, bad])
    assert [(p.row, p.field) for p in refused.value.problems] == [(4, "材料名称")]


@pytest.mark.parametrize(
    ("text", "days"), [("5", 5), ("5个工作日", 5), ("20工作日", 20), ("即办", 0), ("", None), (" 3 ", 3)]
)
def test_time_limits_are_read_as_working_days(text, days):
    assert parse_limit_days(text) == days


@pytest.mark.parametrize("text", ["5天", "五个工作日", "0.5", "另行通知"])
def test_time_limits_that_are_not_working_days_are_refused(text):
    with pytest.raises(ValueError):
        parse_limit_days(text)


# ---- the materials workbook (.xls), through its row grouping -------------------------

MATERIAL_ROWS = [
    MATERIAL_COLUMNS,
    ("往来港澳通行证换发", "吉林省公安厅", "军人申请", "身份证"),                       # row 2
    ("", "", "", "单位证明"),                                                           # row 3: all repeat
    ("", "", "委托他人代为申请", "委托书"),                                              # row 4
    ("", "吉林省公安厅", "", "身份证"),                                                  # row 5: same situation
    ("赴台商务签注签发", "吉林省公安厅", "", "有效往来台湾通行证"),                       # row 6: new item, no situation
    ("", "", "", "赴台立项批复"),                                                       # row 7
    ("往来港澳通行证换发", "吉林省公安厅", "军人申请", "身份证"),                       # row 8: second block, repeat
    ("", "", "", 1.0),                                                                  # row 9: a number cell
]


def test_material_rows_fill_down_within_an_item():
    report = material_items_from_rows(MATERIAL_ROWS, "m.xls")
    items = by_name(report.items)
    assert list(items) == ["往来港澳通行证换发", "赴台商务签注签发"]

    permit = items["往来港澳通行证换发"]
    assert permit.code == "JLM-" + short_hash("往来港澳通行证换发") and permit.department == "吉林省公安厅"
    assert permit.materials == []
    assert [(s.name, [m.name for m in s.materials]) for s in permit.situations] == [
        ("军人申请", ["身份证", "单位证明", "1"]),
        ("委托他人代为申请", ["委托书", "身份证"]),
    ]
    assert report.repeated_rows == 1

    taiwan = items["赴台商务签注签发"]
    assert taiwan.situations == []  # it did not inherit 委托他人代为申请 from the item above
    assert [m.name for m in taiwan.materials] == ["有效往来台湾通行证", "赴台立项批复"]
    assert (taiwan.domain, taiwan.item_type, taiwan.audience) == ("出入境", "行政许可", ["个人", "法人"])
    assert taiwan.districts == [] and taiwan.promised_limit_days is None
    assert taiwan.fee.charged and "未载明是否收费" in taiwan.fee.standard  # never a made-up "不收费"


def test_material_rows_without_item_material_or_department_are_reported():
    rows = [
        MATERIAL_COLUMNS,
        ("", "", "新办", "申请表"),                        # row 2: no item, no department to repeat
        ("驾驶证注销", "吉林省公安厅", "", "驾驶证"),        # row 3
        ("", "", "补证", ""),                              # row 4: no material
        ("驾驶证注销", "吉林省交通运输厅", "", "照片"),      # row 5: another department
    ]
    with pytest.raises(ImportRefused) as refused:
        material_items_from_rows(rows, "m.xls")
    assert {(p.row, p.field) for p in refused.value.problems} == {
        (2, "事项名称"), (2, "省级主管部门"), (4, "关联材料名称"), (5, "省级主管部门"),
    }


def test_the_two_formats_never_share_a_code(tmp_path):
    guide = read_guide_workbook(write_xlsx(tmp_path / "g.xlsx", [guide_row(main="居民身份证换领")]))
    listed = material_items_from_rows([MATERIAL_COLUMNS, ("居民身份证换领", "吉林省公安厅", "", "照片")]).items
    assert guide[0].name == listed[0].name and guide[0].code != listed[0].code


# ---- dispatch ---------------------------------------------------------------------


def test_read_records_dispatches_by_suffix(tmp_path, records):
    jsonl = tmp_path / "base.jsonl"
    lines = [json.dumps(record_to_json(r), ensure_ascii=False) + "\n" for r in records]
    jsonl.write_text("".join(lines), encoding="utf-8")
    xlsx = write_xlsx(tmp_path / "guide.xlsx", sample_rows())
    got = read_records([jsonl, xlsx])
    assert len(got) == len(records) + 3
    assert {r.code for r in got} >= {r.code for r in records}


def test_read_records_refuses_unknown_suffixes_and_codes_given_twice(tmp_path):
    one = write_xlsx(tmp_path / "one.xlsx", sample_rows())
    two = write_xlsx(tmp_path / "two.XLSX", sample_rows())
    csv = tmp_path / "list.csv"
    csv.write_text("事项名称\n", encoding="utf-8")
    with pytest.raises(ImportRefused) as refused:
        read_records([one, two, csv])
    problems = refused.value.problems
    assert {(p.file, p.field) for p in problems} == {(str(two), "code"), (str(csv), "-")}
    assert sum(p.field == "code" for p in problems) == 3


def test_a_file_that_is_not_a_workbook_is_one_problem(tmp_path):
    fake = tmp_path / "fake.xlsx"
    fake.write_text("not a zip", encoding="utf-8")
    with pytest.raises(ImportRefused) as refused:
        read_records([fake])
    [problem] = refused.value.problems
    assert (problem.file, problem.row) == (str(fake), 0) and "cannot read workbook" in problem.message


# ---- the real Changchun exports -------------------------------------------------------


def _item_groups(items: list[Item]) -> dict[tuple[str, str], set[str]]:
    groups = {}
    for item in items:
        if item.materials:
            groups[(item.code, "")] = {m.name for m in item.materials}
        for situation in item.situations:
            groups[(item.code, situation.name)] = {m.name for m in situation.materials}
    return groups


@needs_real
def test_real_guide_workbook_keeps_every_material():
    path = REAL / "excel_main0530.xlsx"
    report = guide_items_from_rows(read_workbook_rows(path), str(path))
    items = report.items
    assert len(items) == 59
    assert len({v.district for i in items for v in i.districts}) == 24
    assert len({a for i in items for a in [i.name, *i.aliases]} & {r[2] for r in read_workbook_rows(path)[1:]}) == 33

    header, *rows = read_workbook_rows(path)
    col = {name: header.index(name) for name in GUIDE_COLUMNS}
    raw: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in rows:
        handling = "" if r[col["业务办理项名称"]] == "无" else r[col["业务办理项名称"]]
        situation = "" if r[col["情形"]] in ("", "无", "无情形") else r[col["情形"]]
        raw[("JL-" + short_hash(r[col["主项名称"]], handling), situation)].add(r[col["材料名称"]])
    assert _item_groups(items) == raw
    filed = sum(len(i.materials) + sum(len(s.materials) for s in i.situations) for i in items)
    assert filed == sum(len(m) for m in raw.values())
    assert report.uneven_material_groups == []  # on this file every district lists the same materials


@needs_real
def test_real_materials_workbook_keeps_every_material():
    path = REAL / "materials.xls"
    items = read_materials_workbook(path)
    assert len(items) == 289
    assert sum(len(i.situations) + bool(i.materials) for i in items) == 906
    assert len({m.name for i in items for s in [i, *i.situations] for m in s.materials}) == 1675

    raw: dict[tuple[str, str], set[str]] = defaultdict(set)
    item = situation = ""
    for r in read_workbook_rows(path)[1:]:
        name, _, sit, material = (str(v).strip() for v in r)
        if name:
            item, situation = name, sit
        elif sit:
            situation = sit
        raw[("JLM-" + short_hash(item), situation)].add(material)
    assert _item_groups(items) == raw


@needs_real
def test_real_files_import_in_one_transaction_and_again_unchanged(store):
    records = read_records([REAL / "excel_main0530.xlsx", REAL / "materials.xls"])
    assert len(records) == 59 + 289
    first = store.import_records(records, actor="test")
    assert len(first.created) == 348 and store.revision() == first.revision == 1
    again = read_records([REAL / "materials.xls", REAL / "excel_main0530.xlsx"])
    second = store.import_records(again, actor="test")
    assert len(second.unchanged) == 348 and not second.created and not second.updated
    stored = store.get(records[0].code)
    assert stored == records[0].model_copy(update={"updated_at": stored.updated_at})
