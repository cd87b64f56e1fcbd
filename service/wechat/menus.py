"""Numbered menus: the welcome for new followers, and what a number typed by the citizen picks.

After each reply the channel remembers its menu per openid (a reply without
buttons forgets the last one); "2" or "２" or "2." then sends the second
button's payload to the bot instead of the digit. A number that picks nothing
goes to the bot as typed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from service.wechat.dedupe import ExpiringMap
from service.wechat.render import Choice, Rendered, render_text

TOP_QUESTIONS: tuple[str, ...] = ("居住证怎么办", "身份证丢了怎么补办", "孩子出生要办哪些", "预约办事", "转人工")
WELCOME = (
    "欢迎关注导办！办事要带什么材料、去哪里办、多久办好，直接发文字问我就行，"
    "答案来自已公布的办事指南。"
)

_NUMBER = re.compile(r"^([0-9]{1,2})[.。、]?$")
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９．", "0123456789.")


def welcome() -> Rendered:
    return render_text(WELCOME, [Choice(title=question, payload=question) for question in TOP_QUESTIONS])


class LastChoices:
    """The last menu shown to each openid, for an hour, for the most recent 50,000 openids."""

    def __init__(self, *, max_entries: int = 50_000, ttl_s: float = 3600.0):
        self._menus: ExpiringMap[str, tuple[Choice, ...]] = ExpiringMap(max_entries=max_entries, ttl_s=ttl_s)

    def remember(self, openid: str, choices: Sequence[Choice]) -> None:
        if choices:
            self._menus.put(openid, tuple(choices))
        else:
            self._menus.pop(openid)

    def forget(self, openid: str) -> None:
        self._menus.pop(openid)

    def pick(self, openid: str, text: str) -> Choice | None:
        """The menu entry the text's number names, if the text is just a number and names one."""
        match = _NUMBER.match(text.strip().translate(_FULL_WIDTH_DIGITS))
        choices = self._menus.get(openid)
        if match is None or not choices:
            return None
        number = int(match.group(1))
        return choices[number - 1] if 1 <= number <= len(choices) else None
