"""Composing the bot's replies from guide records, without any Rasa import.

Every reply that states a material, fee, time limit or place names the guide
and its version, and only ever copies what the record says: nothing is
summarised into a claim the guide does not make.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from actions.districts import needs_district, variant_for
from index.passages import Found
from knowledge.schema import Bundle, CrossProvinceEntry, Item, Material, Record

ASPECTS = ("materials", "procedure", "time", "fee", "place", "online")
ASPECT_TITLES = {
    "materials": "所需材料",
    "procedure": "办理流程",
    "time": "办理时限",
    "fee": "收费标准",
    "place": "办理地点",
    "online": "网上办理",
}
ASPECT_INTENTS = {
    "materials": "ask_materials",
    "procedure": "ask_procedure",
    "time": "ask_time",
    "fee": "ask_fee",
    "place": "ask_place",
    "online": "ask_online",
}

REJECT_TEXT = (
    "抱歉，这个问题不在政务服务办事指南的范围内，我没法准确回答。"
    "如需投诉、求助或咨询其他事项，请拨打12345政务服务便民热线。"
)


PERSON_OFFER = "如需人工帮助，可以点“转人工”由工作人员为您服务，或拨打12345。"
PERSON_BUTTONS = [{"title": "转人工", "payload": "/request_human"}, {"title": "不用了", "payload": "/deny"}]

# What a reply does, for the channels and the figures: it rides with the message (``actions.speech``).
ANSWER, CLARIFY, FORM, DECLINE, HANDOVER, OTHER = "answer", "clarify", "form", "decline", "handover", "other"


@dataclass
class Reply:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    kind: str = ANSWER
    about: tuple[str, ...] = ()  # the records it answers from or offers


def source_line(record: Record) -> str:
    return f"（来源：《{record.name}》办事指南 第{record.version}版，更新于{record.updated_at:%Y-%m-%d}）"


def _material_line(n: int, material: Material) -> str:
    parts = [p for p in (material.form, f"{material.copies}份" if material.copies else None, material.medium) if p]
    if not material.required:
        parts.append("非必需")
    line = f"{n}. {material.name}" + (f"（{'，'.join(parts)}）" if parts else "")
    if material.skip:
        line += f"——可{'/'.join(material.skip)}"
    if material.note:
        line += f"。{material.note}"
    return line


def _limit(days: int | None) -> str:
    if days is None:
        return "指南未载明"
    return "即办（当场办结）" if days == 0 else f"{days}个工作日"


def aspect_buttons(record: Record, exclude: str | None = None) -> list[dict[str, str]]:
    if not isinstance(record, Item):
        return []
    return [
        {"title": ASPECT_TITLES[a], "payload": f"/{ASPECT_INTENTS[a]}" + '{"item_code":"%s"}' % record.code}
        for a in ASPECTS
        if a != exclude
    ]


def answer_item(item: Item, aspect: str, situation: str | None = None, district: str | None = None) -> Reply:
    """One aspect of one item; materials of an item with situations come per situation,
    place and time limit for the citizen's district when one is known."""
    if aspect == "materials":
        return _materials_reply(item, situation)
    body = _ITEM_ASPECTS.get(aspect, _overview)(item, district)
    return Reply(f"【{item.name}】{body}\n{source_line(item)}", aspect_buttons(item, exclude=aspect), about=(item.code,))


def _overview(item: Item, district: str | None = None) -> str:
    return (
        f"{item.summary}\n实施部门：{item.department}；承诺时限：{_overview_limit(item, district)}；"
        f"收费：{item.fee.standard if item.fee.charged else '不收费'}；{item.online_depth or '网办程度指南未载明'}。\n您想了解哪一方面？"
    )


def _overview_limit(item: Item, district: str | None) -> str:
    """The promised limit, said so that the district's own answer can't contradict it."""
    variant = variant_for(item, district)
    if variant is not None and variant.promised_limit_days is not None:
        return f"{variant.district}{_limit(variant.promised_limit_days)}"
    if needs_district(item, "time"):
        return f"{_limit(item.promised_limit_days)}（各区不同，问“办理时限”可查您所在区的）"
    return _limit(item.promised_limit_days)


def _materials_reply(item: Item, situation_code: str | None) -> Reply:
    """Common materials, plus those of the citizen's situation; when the item splits by
    situation and none is known yet, ask which applies instead of listing every one."""
    chosen = next((s for s in item.situations if s.code == situation_code), None)
    lines = [f"【{item.name}】" + (f"（{chosen.name}）" if chosen else "") + "所需材料："]
    materials = [*item.materials, *(chosen.materials if chosen else [])]
    lines += [_material_line(n, m) for n, m in enumerate(materials, 1)] or ["无需提交材料。"]
    if any(m.skip for m in materials):
        lines.append("标注“可告知承诺/容缺受理/电子证照免提交”的材料，可按规定免于提交纸质件或先受理后补齐。")
    buttons = aspect_buttons(item, exclude="materials")
    kind = ANSWER
    if item.situations and chosen is None:
        lines.append("以上为通用材料。此事项按情形还需补充材料，请选择您的情形：" + "、".join(s.name for s in item.situations) + "。")
        buttons = [
            {"title": s.name, "payload": '/ask_materials{"item_code":"%s","situation":"%s"}' % (item.code, s.code)}
            for s in item.situations
        ]
        kind = CLARIFY
    lines.append(source_line(item))
    return Reply("\n".join(lines), buttons, kind=kind, about=(item.code,))


def _procedure(item: Item, district: str | None = None) -> str:
    steps = "\n".join(f"{n}. {s}" for n, s in enumerate(item.procedure, 1)) or "指南未载明办理流程，请咨询窗口。"
    return f"办理流程：\n{steps}"


def _time(item: Item, district: str | None = None) -> str:
    text = f"法定时限：{_limit(item.statutory_limit_days)}；承诺时限：{_limit(item.promised_limit_days)}。"
    variant = variant_for(item, district)
    if variant is not None:
        promised = item.promised_limit_days if variant.promised_limit_days is None else variant.promised_limit_days
        return f"法定时限：{_limit(item.statutory_limit_days)}；{variant.district}承诺时限：{_limit(promised)}。"
    differing = [v for v in item.districts if v.promised_limit_days is not None and v.promised_limit_days != item.promised_limit_days]
    if differing:
        text += "各区承诺时限：" + "；".join(f"{v.district}{_limit(v.promised_limit_days)}" for v in differing) + "。"
    return text


def _fee(item: Item, district: str | None = None) -> str:
    return f"收费标准：{item.fee.standard}。" if item.fee.charged else "本事项不收费。"


def _place(item: Item, district: str | None = None) -> str:
    if not item.districts:
        return f"由{item.department}办理，指南未载明具体地点，请咨询12345。"
    variant = variant_for(item, district)
    if district and variant is None:
        offered = "、".join(v.district for v in item.districts)
        return f"指南未载明{district}受理此事项，可在以下地区办理：{offered}。"
    lines = ["办理地点："]
    for v in [variant] if variant else item.districts:
        window = f"{v.window}，" if v.window else ""
        lines.append(f"· {v.district}：{v.place}，{window}办公时间{v.hours}，电话{v.phone}")
    return "\n".join(lines)


def _online(item: Item, district: str | None = None) -> str:
    depth = item.online_depth or "指南未载明"
    if item.visits is None:
        return f"网办程度：{depth}；跑动次数指南未载明。"
    visits = "无需到现场" if item.visits == 0 else f"最多跑{item.visits}次"
    return f"网办程度：{depth}；{visits}。"


_ITEM_ASPECTS = {
    "procedure": _procedure,
    "time": _time,
    "fee": _fee,
    "place": _place,
    "online": _online,
}


def answer_bundle(bundle: Bundle, members: dict[str, Record], aspect: str = "overview") -> Reply:
    """A bundle's items and how to apply once; asked how long, its own limit and each item's."""
    names = {code: record.name for code, record in members.items()}
    items = "\n".join(f"{n}. {names.get(c, c)}" for n, c in enumerate(bundle.item_codes, 1))
    limit = f"承诺时限：{_limit(bundle.promised_limit_days)}。\n" if bundle.promised_limit_days is not None else ""
    if aspect == "time":
        own = "；".join(f"{m.name}{_limit(m.promised_limit_days)}" for c in bundle.item_codes
                       if isinstance(m := members.get(c), Item))
        text = (f"【{bundle.name}】（一件事一次办）一次申请的承诺时限：{_limit(bundle.promised_limit_days)}。"
                + (f"\n各事项单独办理的承诺时限：{own}。" if own else "") + f"\n{source_line(bundle)}")
    else:
        text = (
            f"【{bundle.name}】（一件事一次办）{bundle.summary}\n包含事项：\n{items}\n"
            f"{limit}怎么申请：{bundle.how_to_apply}\n{source_line(bundle)}"
        )
    buttons = [{"title": names[c], "payload": '/ask_item{"item_code":"%s"}' % c} for c in bundle.item_codes if c in names]
    return Reply(text, buttons[:6], about=(bundle.code,))


def answer_cross_province(entry: CrossProvinceEntry) -> Reply:
    text = (
        f"【{entry.name}】可跨省（异地）办理，方式：{'、'.join(entry.modes)}；范围：{entry.scope}。\n"
        f"怎么办：{entry.how_to_apply}\n{source_line(entry)}"
    )
    buttons = [{"title": "本地办理指南", "payload": '/ask_item{"item_code":"%s"}' % entry.item_code}] if entry.item_code else []
    return Reply(text, buttons, about=(entry.code,))


def answer_record(
    record: Record, aspect: str, lookup: Callable[[str], Record | None], situation: str | None = None,
    district: str | None = None,
) -> Reply:
    """``lookup`` finds a bundle's member items; only those are looked up, never the whole base."""
    if isinstance(record, Item):
        return answer_item(record, aspect, situation, district)
    if isinstance(record, Bundle):
        members = {code: member for code in record.item_codes if (member := lookup(code)) is not None}
        return answer_bundle(record, members, aspect)
    return answer_cross_province(record)


def ask_which_item(aspect: str, examples: list[str]) -> Reply:
    """``examples``: names of guides of the base in use, never of a base the hall doesn't have."""
    shown = "、".join(f"“{name}”" for name in examples[:2])
    hint = f"，例如{shown}" if shown else ""
    return Reply(f"请问您想了解哪个事项的{ASPECT_TITLES.get(aspect, '办理信息')}？请告诉我事项名称{hint}。", kind=CLARIFY)


def reoffer(choices: list[tuple[str, str, str]], aspect: str) -> Reply:
    """The guides just offered, again, for the aspect now asked ("要带啥" after "您是想办理下面哪一项？")."""
    reply = suggest(choices, aspect)
    reply.text = f"您问的是哪一项的{ASPECT_TITLES.get(aspect, '办理信息')}？请点选或回复序号："
    return reply


def answer_passages(record: Record, found: list[Found]) -> Reply:
    """Sentences of the guide in context that answer a follow-up, quoted as the guide words them."""
    lines = [f"【{record.name}】办事指南中与您的问题有关的内容："]
    lines += [f"· {f.passage.label}：{_quoted(f.passage.text)}" for f in found]
    lines.append("以上为指南原文，具体情况以窗口审核为准。")
    lines.append(source_line(record))
    return Reply("\n".join(lines), aspect_buttons(record), about=(record.code,))


def _quoted(text: str) -> str:
    return text if text.endswith(("。", "；", "！", "？")) else f"{text}。"


def guide_silent(record: Record, offer_person: bool) -> Reply:
    """A follow-up the guide in context does not answer: say so, and where to ask instead."""
    text = f"《{record.name}》办事指南中没有写到这一点，我无法给您准确答复。可以拨打12345或到窗口咨询。"
    if offer_person:
        return Reply(f"{text}{PERSON_OFFER}", list(PERSON_BUTTONS), kind=DECLINE, about=(record.code,))
    return Reply(text, aspect_buttons(record), kind=DECLINE, about=(record.code,))


def declined(retry_hint: str, offer_person: bool) -> Reply:
    if offer_person:
        return Reply(f"{REJECT_TEXT}{PERSON_OFFER}", list(PERSON_BUTTONS), kind=DECLINE)
    return Reply(f"{REJECT_TEXT}{retry_hint}", kind=DECLINE)


KIND_LABELS = {"bundle": "（一件事一次办）", "cross_province": "（跨省通办）"}


def suggest(choices: list[tuple[str, str, str]], aspect: str) -> Reply:
    """Buttons for (code, kind, name) choices; an item and its 跨省通办 entry share a name, so kinds are shown."""
    intent = ASPECT_INTENTS.get(aspect, "ask_item")
    buttons = [
        {"title": name + KIND_LABELS.get(kind, ""), "payload": f"/{intent}" + '{"item_code":"%s"}' % code}
        for code, kind, name in choices
    ]
    return Reply("您是想办理下面哪一项？请点选或回复序号：", buttons, kind=CLARIFY, about=tuple(c for c, _, _ in choices))


def ask_district(item: Item, aspect: str) -> Reply:
    """The place or time limit differs by district: ask which, with one button per district."""
    buttons = [
        {"title": v.district, "payload": f"/{ASPECT_INTENTS[aspect]}" + '{"item_code":"%s","district":"%s"}' % (item.code, v.district)}
        for v in item.districts
    ]
    what = "办理地点和电话" if aspect == "place" else "承诺时限"
    return Reply(f"【{item.name}】各区的{what}不同。请问您在哪个区办理？", buttons, kind=CLARIFY, about=(item.code,))


def not_cross_province(item: Item) -> Reply:
    return Reply(
        f"【{item.name}】不在本市跨省通办清单中，需要到受理地办理。如需帮助，可以说“转人工”或拨打12345。\n{source_line(item)}",
        aspect_buttons(item), about=(item.code,),
    )
