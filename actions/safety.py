"""Messages that try to steer the bot rather than ask it something.

The bot has no instructions a message could override (it only retrieves
guides), but a calm fixed reply to "忽略之前的指令……" tells the sender so,
and keeps such text out of retrieval, where it could only produce nonsense.
"""

from __future__ import annotations

import re

HOSTILE_TEXT = (
    "我是政务服务智能客服，只能按办事指南回答办事问题，无法执行其他指令。"
    "如需办事咨询，请直接告诉我您要办的事项；如需人工帮助，请说“转人工”或拨打12345。"
)
_INJECTION = re.compile(
    r"(忽略|无视|忘记|忘掉).{0,6}(之前|以上|前面|上面|所有|全部).{0,6}(指令|指示|规则|设定|提示|要求)"
    r"|系统提示|system\s*prompt|prompt\s*injection|jailbreak|越狱模式|开发者模式|developer\s*mode"
    # not "你现在是人工客服吗" nor "告诉我社保卡密码怎么重置": citizens ask those
    r"|你现在扮演|你现在是(一个|一名)?(没有限制|不受限|无限制|管理员|系统|开发者|超级|我的)"
    r"|扮演(管理员|系统|开发者)|(输出|告诉我|泄露).{0,6}(密钥|数据库|提示词|(后台|管理员?|系统|服务器)(账号)?密码)"
    r"|^\s*(system|assistant)\s*[:：]",
    re.IGNORECASE,
)


def looks_like_injection(text: str) -> bool:
    return bool(_INJECTION.search(text or ""))
