"""Which part of a guide a message asks about, from its words, when NLU did not say.

NLU reads the aspect from the intent it predicts (``ask_fee`` …), but a short
colloquial follow-up is often heard as something else: "收钱不" as a no,
"多久能拿到" as a bare inform. The words that ask for an aspect are few and
the same in every base, so they are read here as a second opinion, used only
when the intent carries no aspect of its own.
"""

from __future__ import annotations

# In the order they are tried: "办好要多少钱" asks the fee, not the time
ASPECT_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("fee", ("多少钱", "几多钱", "几钱", "收费", "收钱", "要钱", "花钱", "费用", "工本费", "免费", "交钱", "给钱")),
    ("time", ("多久", "多长时间", "几天", "多少天", "时限", "几个工作日", "多快", "啥时候能拿", "什么时候能拿",
              "多久能拿", "当天能", "马上能")),
    ("materials", ("材料", "资料", "带啥", "带什么", "带些", "要带", "准备什么", "准备啥", "拿什么", "拿啥",
                   "要啥", "要什么", "需要啥", "需要什么", "得准备", "要准备")),
    ("place", ("在哪", "哪里办", "去哪", "上哪", "哪儿办", "哪办", "地址", "地点", "哪个窗口", "几号窗口", "电话",
               "办公时间", "几点上班", "几点下班", "喺边", "边度")),
    ("online", ("网上", "线上", "手机上", "app", "App", "小程序", "不用跑", "网办")),
    ("procedure", ("流程", "步骤", "程序", "怎么个流程", "先干啥", "第一步")),
)


# "要啥" alone asks what to bring; "要啥条件" asks who may apply, which no aspect answers
_NOT_MATERIALS = ("条件", "要求", "资格", "手续")


def aspect_of(text: str) -> str | None:
    """The aspect ``text``'s words ask for, or None."""
    for aspect, words in ASPECT_WORDS:
        hits = [word for word in words if word in text]
        if aspect == "materials" and hits and all(_asks_other_than_materials(text, word) for word in hits):
            continue
        if hits:
            return aspect
    return None


def _asks_other_than_materials(text: str, word: str) -> bool:
    """Whether ``word`` ("要啥") is followed by what it asks for instead ("要啥条件")."""
    if word in ("材料", "资料"):
        return False
    after = text[text.index(word) + len(word):]
    return after.lstrip().startswith(_NOT_MATERIALS)


def without_aspect_words(text: str) -> str:
    """``text`` with the words that ask for an aspect taken out: what else it asks about, if anything."""
    for _, words in ASPECT_WORDS:
        for word in sorted(words, key=len, reverse=True):
            text = text.replace(word, " ")
    return text

