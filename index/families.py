"""Families of items: several guides for one thing, told apart by a word or two.

Real item lists come in families — 住房公积金提取（租房 / 购房 / 退休 …),
居民身份证 首次申领 / 换领 / 补领, 个体工商户 or 有限责任公司 设立登记 — whose
names share a stem. When a question names the family but not which member
("公积金怎么提取", "营业执照咋办"), retrieval still ranks one member first, by
a small margin that says nothing about the citizen; a clerk would ask which
one. So would we: the member is answered only when the question says
something that only it has (租房, 补办, 个体户 …), read by ``index.wording``.
The same families let "那补办呢" move from 首次申领 to 补领.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from index.locality import Locality
from index.wording import WordReader, normalise

# Stems too common to make a family of their own: half the base is some kind of 登记
GENERIC_STEMS = frozenset({
    "登记", "申领", "办理", "申请", "证明", "服务", "补贴", "认定", "变更", "注销", "查询", "备案", "审批",
    "许可", "发放", "证书", "业务", "手续", "资格", "事项", "领取", "补领", "换领", "核发", "签发", "一件事",
    "参保", "保险", "人员", "户口", "证件", "开具", "出具", "申报", "审核", "确认", "管理", "报销",
})
MIN_STEM = 3
MIN_TELLING = 2  # characters of a stem left once its generic words are gone: 居住证 yes, 立登记 (成立/设立登记) no
FAMILY_WINDOW = 0.15  # a member this close to the first is a rival, not an also-ran (fused score units)
LIST_WINDOW = 0.35  # members shown in the question, when one is asked
MAX_MEMBERS = 5
OVERRULE_ENOUGH = 2.0  # how much of a lower member's own words a question must say to be answered with it
# A member whose own part is only the plain act of getting the thing is what a question naming no act means:
# "居住证要带啥" is about 申领, not 签注 or 补领; "公积金怎么提取" has no such member (租房? 购房?) and is asked.
PLAIN_ACTS = frozenset({"申领", "首次申领", "初次申领", "新办", "申请", "办理", "首次办理", "签发", "核发", "申领办理"})


@dataclass(frozen=True)
class Named:
    code: str
    name: str
    score: float = 0.0


def stem(a: str, b: str) -> str:
    """The longest run two names share, when it is long or telling enough to make them one family."""
    x, y = normalise(a), normalise(b)
    best = ""
    for i in range(len(x)):
        for j in range(i + len(best) + 1, len(x) + 1):
            if x[i:j] in y:
                best = x[i:j]
            else:
                break
    telling = best
    for word in sorted(GENERIC_STEMS, key=len, reverse=True):
        telling = telling.replace(word, "")
    return best if len(best) >= MIN_STEM and len(telling) >= MIN_TELLING else ""


# Who an item is for. "企业的呢" after 个体工商户变更登记 swaps who, and keeps what: 企业变更登记, not
# 个体工商户转型为企业, which keeps the old who beside the new one.
SUBJECTS = ("个体工商户", "有限责任公司", "农民专业合作社", "灵活就业人员", "城乡居民", "用人单位", "个体", "企业", "公司",
            "单位", "个人", "职工", "法人", "自然人", "居民")


def swaps_subject(current: str, said: set[str], member: str) -> bool:
    """Whether ``member`` is ``current`` for the subject the citizen said instead of current's own."""
    new = {s for s in SUBJECTS if any(s in w for w in said)}
    old = {s for s in SUBJECTS if s in current and not any(s in n for n in new)}
    return bool(new) and any(s in member for s in new) and not any(s in member for s in old)


def _plain_act(names: Sequence[str]) -> bool:
    """Whether the first name, without the stem it shares with the others, is only the plain act of getting
    the thing (居民身份证首次申领 beside 居民身份证补领: 首次申领)."""
    first = normalise(names[0])
    shared = max((stem(names[0], other) for other in names[1:]), key=len, default="")
    part = first.replace(shared, "", 1) if shared else first
    return part in PLAIN_ACTS


def family_of(first: Named, others: Sequence[Named]) -> list[Named]:
    """``others`` that share a stem with ``first``, in their order."""
    return [o for o in others if o.code != first.code and stem(first.name, o.name)]


@dataclass(frozen=True)
class Reading:
    """What a question makes of the first record's family: the member it names, or the members to ask about."""

    chosen: Named | None = None
    ask: tuple[Named, ...] = ()


class Families:
    def __init__(self, words: WordReader):
        self._words = words

    def read(self, question: str, ranked: Sequence[Named], matched_own: bool = False,
             locality: Locality | None = None) -> Reading | None:
        """None when ``ranked[0]`` has no close rival of its family, or the question says it is meant;
        else the member the question's words name (which retrieval ranked lower), or the members to ask about.

        ``matched_own``: the first's best document is its own alias or similar
        question, contained in the question — an editor already said what it means.
        """
        if len(ranked) < 2 or matched_own:
            return None
        first = ranked[0]
        close = [r for r in family_of(first, ranked[1:]) if r.score >= first.score - FAMILY_WINDOW]
        if not close:
            return None
        near = [r for r in family_of(first, ranked[1:]) if r.score >= first.score - LIST_WINDOW]
        # the rivals, then the kinds of 住房公积金提取 before anything else about 住房公积金: the tightest stem
        tightest = max(len(stem(first.name, r.name)) for r in near)
        kin = [r for r in near if r in close or len(stem(first.name, r.name)) == tightest]
        listed = [first, *kin][:MAX_MEMBERS]
        where = locality.of_question(question) if locality is not None else None
        if where is not None:  # "长春本地户口": the guides for those registered elsewhere are no rivals
            marked = {Locality.of_name(m.name) for m in listed} - {None}
            # beside 丢失异地补领, the plain 丢失补领 is the one for here (and beside a 户籍地 one, for elsewhere)
            unmarked = ({"here", "elsewhere"} - marked).pop() if len(marked) == 1 else None
            fitting = [m for m in listed if (Locality.of_name(m.name) or unmarked) in (None, where)]
            if fitting and len(fitting) < len(listed):
                listed = fitting
                if len(listed) == 1 or not family_of(listed[0], listed[1:]):
                    return None if listed[0] is first else Reading(chosen=listed[0])
                first = listed[0]
        names = [m.name for m in listed]
        said = self._words.favours(question, names)
        if said == 0:
            return None if listed[0] is ranked[0] else Reading(chosen=listed[0])
        # "头回办身份证": the citizen's words mean a member retrieval ranked lower, by a word of its own (补 of
        # 补领 is enough to keep the first, not to overrule retrieval; nor is a word the text only happens to share)
        if said is not None and self._words.favours(question, names, enough=OVERRULE_ENOUGH,
                                                    officials_only=True) == said:
            return Reading(chosen=listed[said])
        if _plain_act(names):
            return None if listed[0] is ranked[0] else Reading(chosen=listed[0])
        return Reading(ask=tuple(listed))

    def rivals(self, question: str, ranked: Sequence[Named], matched_own: bool = False) -> list[Named]:
        """The members to ask about when ``question`` fits ``ranked[0]``'s family without saying which; else []."""
        reading = self.read(question, ranked, matched_own)
        return list(reading.ask) if reading is not None else []
