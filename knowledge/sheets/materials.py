"""The materials workbook (materials.xls): items, their situations and materials, no places.

Columns 事项名称, 省级主管部门, 情形简称, 关联材料名称; the export leaves a cell
empty where it repeats the value above (merged cells, unmerged). Rules, and why:

* 事项名称 and 省级主管部门 repeat from above when empty; a first data row
  without them has nothing to repeat and is reported.
* 情形简称 repeats from above only within one item. On the row that starts an
  item an empty situation means "no situation": the real file has items whose
  first rows carry none, and repeating the previous item's last situation would
  file their materials under a situation of another item. Those materials are
  the item's common materials.
* 关联材料名称 must be given on every row: a row without a material carries
  nothing, and repeating the one above would only hide an export fault.
* An item that appears in several blocks of rows (the real file repeats three
  往来港澳 items) is one item; an exact repeat of item, situation and material
  is merged, so no material is lost and none is doubled.
* Code = "JLM-" + 10 hex digits of SHA-1 over the item name: stable across
  imports and department renames, and never equal to a guide workbook code ("JL-").
* The sheet says nothing of places, time limits or fees: ``districts`` stays
  empty, the limit unknown, and the fee says the list is silent on it (the
  schema has no "unknown" fee, and "不收费" would be a claim the sheet never makes).

Domain, item type and audience follow ``knowledge.sheets.rules``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from knowledge.errors import ImportProblem, ImportRefused
from knowledge.schema import Item
from knowledge.sheets import rules
from knowledge.sheets.table import RawRow, build_items, short_hash, table_rows

logger = logging.getLogger(__name__)

MATERIAL_COLUMNS = ("事项名称", "省级主管部门", "情形简称", "关联材料名称")
CODE_PREFIX = "JLM-"


@dataclass
class _Draft:
    name: str
    department: str
    first_row: int
    # situation ("" = common) -> material names, both in order of first appearance
    groups: dict[str, dict[str, None]] = field(default_factory=dict)


@dataclass
class MaterialsReport:
    items: list[Item]
    repeated_rows: int = 0
    notes: list[str] = field(default_factory=list)


def material_items_from_rows(rows: Iterable[RawRow], file: str = "<rows>") -> MaterialsReport:
    """Group the rows (header first) into items; every problem is collected, then the lot is refused."""
    problems: list[ImportProblem] = []
    drafts: dict[str, _Draft] = {}
    item = department = situation = ""
    repeated = 0
    blocks: dict[str, int] = {}
    for row in table_rows(file, rows, MATERIAL_COLUMNS):
        if row["事项名称"]:
            item = row["事项名称"]
            situation = row["情形简称"]  # a new item never inherits the previous item's situation
            blocks[item] = blocks.get(item, 0) + 1
        elif row["情形简称"]:
            situation = row["情形简称"]
        department = row["省级主管部门"] or department
        material = row["关联材料名称"]
        if not item:
            problems.append(ImportProblem(file, row.number, "事项名称", "empty on the first data row: nothing to repeat"))
        if not department:
            problems.append(ImportProblem(file, row.number, "省级主管部门", "empty and nothing above to repeat"))
        if not material:
            problems.append(ImportProblem(file, row.number, "关联材料名称", "empty; every row needs a material"))
        if not (item and department and material):
            continue
        draft = drafts.setdefault(item, _Draft(item, department, row.number))
        if draft.department != department:
            problems.append(ImportProblem(
                file, row.number, "省级主管部门",
                f"{item!r} was given department {draft.department!r} at row {draft.first_row}, here {department!r}",
            ))
            continue
        listed = draft.groups.setdefault(situation, {})
        if material in listed:
            repeated += 1
        listed[material] = None

    report = MaterialsReport(items=[], repeated_rows=repeated)
    split = sorted(name for name, count in blocks.items() if count > 1)
    if split:
        report.notes.append(f"{len(split)} item(s) appear in several blocks of rows, merged: {'、'.join(split)}")
    if repeated:
        report.notes.append(f"{repeated} row(s) repeat a material already listed for the same item and situation")
    report.items.extend(build_items(
        file, drafts.values(), code_of=lambda d: CODE_PREFIX + short_hash(d.name),
        data_of=_item_data, field="事项名称", problems=problems,
    ))
    if problems:
        raise ImportRefused(problems)
    for note in report.notes:
        logger.warning("%s: %s", file, note)
    logger.info("%s: %d item(s) from the materials workbook", file, len(report.items))
    return report


def _item_data(code: str, draft: _Draft) -> dict:
    situations = [
        {"code": "S-" + short_hash(name, length=8), "name": name, "materials": [{"name": m} for m in listed]}
        for name, listed in draft.groups.items()
        if name
    ]
    return {
        "code": code,
        "name": draft.name,
        "domain": rules.domain_of(draft.name, draft.department),
        "item_type": rules.item_type_of(draft.name),
        "department": draft.department,
        "audience": list(rules.BOTH_AUDIENCES),
        "summary": (
            f"{draft.name}，省级主管部门为{draft.department}。本条目来自省级申请材料清单，只载明办理情形和申请材料；"
            "办理地点、时限和收费请向主管部门或当地政务服务中心咨询。"
        ),
        "materials": [{"name": m} for m in draft.groups.get("", {})],
        "situations": situations,
        "fee": {"charged": True, "standard": rules.unknown_fee(draft.department)},
    }
