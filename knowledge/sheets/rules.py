"""Explicit rules for the schema fields the provincial sheets do not carry.

The schema requires a domain, an item type, a department, an audience and a
summary; neither export has all of them. Each value below is derived from what
the sheet does say (the item's name, the 上级区划名称, the 省级主管部门) by a
rule written down here, never made up per item and never a placeholder such as
"（表格未载明）": the bot reads these fields out to citizens.

Guide workbook (excel_main0530.xlsx): a *topic* table keyed on the main item's
name. Certificates of the public-security organs (身份证, 户口, 居住证) confirm a
civil status: 行政确认, department "<city>各县（市、区）公安机关". Services of the
disabled persons' federation (残疾人…) are 公共服务 — the 残联 is a people's
organisation, not an administrative organ — department
"<city>各县（市、区）残疾人联合会"; its 按比例就业 certification is applied for by
employers (法人). <city> is read from 上级区划名称 ("长春市,吉林省" → 长春市).
A main item that no topic covers refuses the file with a problem naming the
row: add a topic here rather than guess.

Materials workbook (materials.xls): the department is the 省级主管部门 as given;
the domain comes from a keyword of the item name (the same topics plus a few
more), else the department's own field (吉林省药品监督管理局 → 药品监督管理);
the item type from keywords of the name (补贴 → 行政给付, 许可/审批/核发 →
行政许可, 登记/认定 → 行政确认, …, else 公共服务); the audience is both 个人
and 法人, because the sheet does not say who applies and naming one would
exclude the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CIVIL_STATUS = "行政确认"
PUBLIC_SERVICE = "公共服务"


@dataclass(frozen=True)
class Topic:
    keyword: str
    domain: str
    item_type: str
    department: str  # "{city}" is replaced by the city of the rows
    audience: tuple[str, ...] = ("个人",)


_FEDERATION = "{city}各县（市、区）残疾人联合会"
_POLICE = "{city}各县（市、区）公安机关"

# First match wins: the employer-side certification before the general 残疾人 topic.
GUIDE_TOPICS: tuple[Topic, ...] = (
    Topic("按比例就业", "残疾人", PUBLIC_SERVICE, _FEDERATION, ("法人",)),
    Topic("残疾人", "残疾人", PUBLIC_SERVICE, _FEDERATION),
    Topic("居住证", "居住证", CIVIL_STATUS, _POLICE),
    Topic("户口", "户籍", CIVIL_STATUS, _POLICE),
    Topic("身份证", "身份证", CIVIL_STATUS, _POLICE),
)


def guide_topic(main_item: str) -> Topic | None:
    for topic in GUIDE_TOPICS:
        if topic.keyword in main_item:
            return topic
    return None


def city_of(parents: str) -> str:
    """"双阳区,长春市,吉林省" → "长春市": the prefecture-level city is the last 市 before the province."""
    cities = [p for p in re.split(r"[,，、\s]+", parents) if p.endswith("市")]
    return cities[-1] if cities else ""


# ---- the materials workbook ---------------------------------------------------

_NAME_DOMAINS: tuple[tuple[str, str], ...] = (
    ("残疾", "残疾人"),
    ("居住证", "居住证"),
    ("身份证", "身份证"),
    ("户口", "户籍"),
    ("签注", "出入境"),
    ("通行证", "出入境"),
    ("护照", "出入境"),
    ("签证", "出入境"),
    ("驾驶证", "交通管理"),
    ("机动车", "交通管理"),
    ("公积金", "公积金"),
    ("医疗保险", "医保"),
    ("医保", "医保"),
    ("养老保险", "社保"),
    ("社保", "社保"),
    ("婚姻登记", "婚姻"),
    ("结婚", "婚姻"),
    ("离婚", "婚姻"),
    ("发票", "税务"),
    ("税", "税务"),
)

# 给付 before 许可: "待遇审批" is a benefit, not a licence.
_ITEM_TYPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("行政给付", ("补贴", "补助", "津贴", "待遇", "给付", "抚恤")),
    ("行政奖励", ("奖励",)),
    ("行政征收", ("征收",)),
    ("行政裁决", ("裁决",)),
    ("行政许可", ("许可", "审批", "核发", "批准", "执业", "资质", "签发", "签证", "护照", "通行证", "驾驶证", "审查",
              "注册", "准入")),
    ("行政确认", ("登记", "确认", "认定", "鉴定")),
)

BOTH_AUDIENCES = ["个人", "法人"]


def domain_of(name: str, department: str) -> str:
    for keyword, domain in _NAME_DOMAINS:
        if keyword in name:
            return domain
    core = re.sub(r"（.*?）|\(.*?\)", "", department)
    core = re.sub(r"^(国家税务总局)?吉林省", "", core)
    core = re.sub(r"(委员会|联合会|厅|局)$", "", core)
    return core or department


def item_type_of(name: str) -> str:
    for item_type, keywords in _ITEM_TYPES:
        if any(k in name for k in keywords):
            return item_type
    return PUBLIC_SERVICE


# ---- cells shared by both formats ---------------------------------------------

_ON_THE_SPOT = {"即办", "即时办结", "当场办结", "立即办结", "当场办理", "即时办理"}
_DAYS = re.compile(r"^(\d+)\s*(个)?(工作日)?$")


def parse_limit_days(text: str) -> int | None:
    """承诺办结时限 as working days: "5", "5个工作日", "即办" → 0; blank → None; anything else raises ValueError.

    Calendar days ("5天") are refused rather than converted: the schema counts
    working days and the conversion depends on the dates.
    """
    text = text.strip()
    if not text:
        return None
    if text in _ON_THE_SPOT:
        return 0
    match = _DAYS.match(text)
    if match is None:
        raise ValueError(f"cannot read {text!r} as working days (expected e.g. 5, 5个工作日, 即办)")
    return int(match.group(1))


FEE_WORDS = {"是": True, "否": False}
GUIDE_FEE_STANDARD = "收费，表格未载明收费标准，请向办理窗口咨询"


def unknown_fee(department: str) -> str:
    return f"申请材料清单未载明是否收费，请向{department}咨询"
