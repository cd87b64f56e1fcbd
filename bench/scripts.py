"""Realistic citizen conversations for timing the whole path (and, later, for load).

Each script is the turns one citizen sends; a turn may be text or "click the
first button whose title contains X" so that bookings follow what the bot
really offers (days and slots depend on today's date).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Click:
    """Press the button of the previous reply whose title contains ``contains`` (the first one when empty)."""

    contains: str = ""


Turn = str | Click

SCRIPTS: dict[str, list[Turn]] = {
    "materials-and-follow-ups": ["办理居住证需要什么材料？", Click(), "那要多久？", "要钱吗？", "在哪办？", Click("青山区")],
    "id-card-lost": ["身份证丢了怎么补办", "能在网上办吗", "谢谢"],
    "bundle": ["孩子刚出生要办哪些手续", "好的谢谢"],
    "cross-province": ["我在广东上班，老家湖南，社保能转吗"],
    "booking": ["我想预约办居住证", Click("居住证申领"), Click("青山区"), Click(), Click(), "我叫王秀英", "13812345678", "确认"],
    "out-of-scope": ["明天会下雨吗", "你好"],
}
