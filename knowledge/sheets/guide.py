"""The guide workbook (excel_main0530.xlsx): one row per material, per district, per handling item.

Grouping, and why:

* **Item** = one 业务办理项 (handling item) of a 主项 (main item): that is the
  unit a citizen applies for ("户口迁移审批" alone does not say which materials;
  "随军家属户口迁入" does). 业务办理项名称 "无" means the main item has no
  handling items and is itself the item. The name is the handling item's own
  when it names its subject (it contains the topic keyword, e.g.
  "丢失异地补领居民身份证"), else "主项（办理项）" ("残疾人证迁移（居住地申请）").
  The main item's name is kept as an alias, so a question naming only the main
  item still finds every handling item under it.
* **Code** = "JL-" + 10 hex digits of SHA-1 over 主项 and 办理项: stable across
  imports as long as the names stay, and unlike the materials workbook's "JLM-"
  codes, so importing both files never overwrites one with the other.
* **Situation** = 情形; blank, "无" and "无情形" mean the material is common to the item.
  Situation codes are "S-" + a hash of the name, stable when rows are reordered.
* **Materials** are the union over districts, in order of first appearance;
  a material listed by only some of the districts that list its situation
  keeps a note naming those districts (the bot then says so instead of
  demanding it everywhere). Exact repeats (same item, district, situation and
  material) are merged.
* **District variant** per 区划名称: 办理地点 → place, 办理时间 → hours,
  咨询方式 → phone, 承诺办结时限 → promised_limit_days (working days). These
  must be the same on every row of one item and district; a row that differs
  is reported, since one of the two values is wrong and we cannot tell which.
* **Item-level values** that vary by district: the promised limit is the
  largest one (a promise every district keeps; each variant keeps its own);
  受理条件 and 是否收费, which the schema holds once per item, are written
  out per group of districts when they differ.

Domain, item type, department and audience follow ``knowledge.sheets.rules``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from knowledge.errors import ImportProblem, ImportRefused
from knowledge.schema import Item
from knowledge.sheets import rules
from knowledge.sheets.table import RawRow, SheetRow, build_items, short_hash, table_rows

logger = logging.getLogger(__name__)

GUIDE_COLUMNS = (
    "区划名称", "上级区划名称", "主项名称", "业务办理项名称", "承诺办结时限", "是否收费",
    "受理条件", "办理地点", "办理时间", "咨询方式", "情形", "材料名称",
)
CODE_PREFIX = "JL-"
NO_HANDLING_ITEM = "无"
COMMON = frozenset({"", "无", "无情形"})
_REQUIRED = ("区划名称", "主项名称", "业务办理项名称", "材料名称", "办理地点", "办理时间", "咨询方式", "是否收费")
# what one district says about one item: the same on every row, or the sheet contradicts itself
_PER_DISTRICT = ("办理地点", "办理时间", "咨询方式", "承诺办结时限", "是否收费", "受理条件")


@dataclass
class _District:
    row: int
    cells: dict[str, str]
    limit: int | None


@dataclass
class _Draft:
    main: str
    handling: str  # "" when the main item is the item
    topic: rules.Topic
    first_row: int
    cities: Counter = field(default_factory=Counter)
    districts: dict[str, _District] = field(default_factory=dict)
    # situation ("" = common) -> material -> districts listing it, both in order of first appearance
    groups: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    group_districts: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class GuideReport:
    """The items, and what the sheet said unevenly (also logged), for editors and tests."""

    items: list[Item]
    uneven_material_groups: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def guide_items_from_rows(rows: Iterable[RawRow], file: str = "<rows>") -> GuideReport:
    """Group the rows (header first) into items; every problem is collected, then the lot is refused."""
    problems: list[ImportProblem] = []
    drafts: dict[tuple[str, str], _Draft] = {}
    untopical: set[str] = set()
    repeats = 0
    for row in table_rows(file, rows, GUIDE_COLUMNS):
        repeats += _take_row(file, row, drafts, untopical, problems)

    report = GuideReport(items=[])
    if repeats:
        report.notes.append(
            f"{repeats} row(s) repeat a material already listed for the same item, district and situation"
        )
    report.items.extend(build_items(
        file, drafts.values(), code_of=lambda d: CODE_PREFIX + short_hash(d.main, d.handling),
        data_of=lambda code, d: _item_data(code, d, report), field="业务办理项名称", problems=problems,
    ))
    if problems:
        raise ImportRefused(problems)
    for note in report.notes:
        logger.warning("%s: %s", file, note)
    logger.info("%s: %d item(s) from the guide workbook", file, len(report.items))
    return report


def _take_row(file: str, row: SheetRow, drafts: dict, untopical: set[str], problems: list[ImportProblem]) -> int:
    """File one row under its item; returns 1 when it only repeats a material already filed."""
    before = len(problems)
    for column in _REQUIRED:
        if not row[column]:
            problems.append(ImportProblem(file, row.number, column, "empty; every row needs it"))
    if row["是否收费"] and row["是否收费"] not in rules.FEE_WORDS:
        problems.append(ImportProblem(file, row.number, "是否收费", f"expected 是 or 否, not {row['是否收费']!r}"))
    try:
        limit = rules.parse_limit_days(row["承诺办结时限"])
    except ValueError as exc:
        problems.append(ImportProblem(file, row.number, "承诺办结时限", str(exc)))
        limit = None
    main = row["主项名称"]
    topic = rules.guide_topic(main) if main else None
    if main and topic is None and main not in untopical:
        untopical.add(main)
        problems.append(ImportProblem(
            file, row.number, "主项名称",
            f"no rule gives the domain and department of {main!r}; add a topic to knowledge/sheets/rules.py",
        ))
    if len(problems) > before or topic is None:
        return 0

    handling = "" if row["业务办理项名称"] == NO_HANDLING_ITEM else row["业务办理项名称"]
    draft = drafts.setdefault((main, handling), _Draft(main, handling, topic, row.number))
    district = row["区划名称"]
    draft.cities[rules.city_of(row["上级区划名称"])] += 1
    known = draft.districts.get(district)
    if known is None:
        draft.districts[district] = _District(row.number, {c: row[c] for c in _PER_DISTRICT}, limit)
    else:
        for column in _PER_DISTRICT:
            if row[column] != known.cells[column]:
                problems.append(ImportProblem(
                    file, row.number, column,
                    f"differs from row {known.row} for the same item and district ({district})",
                ))
    situation = "" if row["情形"] in COMMON else row["情形"]
    listing = draft.groups.setdefault(situation, {}).setdefault(row["材料名称"], [])
    in_group = draft.group_districts.setdefault(situation, [])
    if district not in in_group:
        in_group.append(district)
    if district in listing:
        return 1
    listing.append(district)
    return 0


def _item_data(code: str, draft: _Draft, report: GuideReport) -> dict:
    label = f"{draft.main}（{draft.handling}）" if draft.handling else draft.main
    city = draft.cities.most_common(1)[0][0]
    if len(draft.cities) > 1:
        report.notes.append(f"{label}: rows name several cities ({'、'.join(draft.cities)}); department uses {city}")
    if draft.handling and draft.topic.keyword in draft.handling:
        name = draft.handling
    else:
        name = label
    districts = list(draft.districts)
    limits = [d.limit for d in draft.districts.values() if d.limit is not None]
    materials: list[dict] = []
    situations: list[dict] = []
    for situation, listing in draft.groups.items():
        group = _materials(label, situation, listing, draft.group_districts[situation], report)
        if situation:
            situations.append({"code": "S-" + short_hash(situation, length=8), "name": situation, "materials": group})
        else:
            materials = group
    return {
        "code": code,
        "name": name,
        "aliases": [draft.main] if draft.main != name else [],
        "domain": draft.topic.domain,
        "item_type": draft.topic.item_type,
        "department": draft.topic.department.format(city=city),
        "audience": list(draft.topic.audience),
        "summary": f"{label}。可在{city}以下{len(districts)}个区划办理：{'、'.join(districts)}。",
        "conditions": _per_district_text(label, "受理条件", draft, report),
        "materials": materials,
        "situations": situations,
        "promised_limit_days": max(limits) if limits else None,
        "fee": _fee(label, draft, report),
        "districts": [
            {
                "district": name_,
                "place": d.cells["办理地点"],
                "hours": d.cells["办理时间"],
                "phone": d.cells["咨询方式"],
                "promised_limit_days": d.limit,
            }
            for name_, d in draft.districts.items()
        ],
    }


def _materials(
    label: str, situation: str, listing: dict[str, list[str]], in_group: list[str], report: GuideReport
) -> list[dict]:
    out = []
    uneven = False
    for material, districts in listing.items():
        entry: dict = {"name": material}
        if len(districts) < len(in_group):
            uneven = True
            entry["note"] = f"仅{'、'.join(districts)}列出此材料"
        out.append(entry)
    if uneven:
        report.uneven_material_groups.append(f"{label} / {situation or '（通用材料）'}")
        report.notes.append(f"{label} / {situation or '（通用材料）'}: districts list different materials; kept the union")
    return out


def _per_district_text(label: str, column: str, draft: _Draft, report: GuideReport) -> str:
    by_text: dict[str, list[str]] = {}
    for district, d in draft.districts.items():
        by_text.setdefault(d.cells[column], []).append(district)
    if len(by_text) == 1:
        return next(iter(by_text))
    report.notes.append(f"{label}: {column} differs between districts; written out per district")
    return "\n".join(f"【{'、'.join(ds)}】{text or '未载明'}" for text, ds in by_text.items())


def _fee(label: str, draft: _Draft, report: GuideReport) -> dict:
    charging = [n for n, d in draft.districts.items() if rules.FEE_WORDS[d.cells["是否收费"]]]
    if not charging:
        return {"charged": False, "standard": "不收费"}
    if len(charging) == len(draft.districts):
        return {"charged": True, "standard": rules.GUIDE_FEE_STANDARD}
    report.notes.append(f"{label}: 是否收费 differs between districts ({len(charging)} of {len(draft.districts)} charge)")
    free = [n for n in draft.districts if n not in charging]
    return {
        "charged": True,
        "standard": f"{'、'.join(charging)}收费（表格未载明收费标准，请向办理窗口咨询）；{'、'.join(free)}不收费",
    }
