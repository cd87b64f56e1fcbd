"""The welcome menu for new followers.

Its choices are kept in the journal like the bot's own (``Conversations.greet``),
so a number typed next picks from it the way it picks from any reply's menu.
The questions are the hall's kind of questions, not any one base's guides: the
bot answers them by asking which guide, with examples from the base in use.
"""

from __future__ import annotations

from service.wechat.render import Choice, Rendered, render_text

TOP_QUESTIONS: tuple[str, ...] = ("办事要带什么材料", "身份证丢了怎么补办", "预约办事", "转人工")
WELCOME = (
    "欢迎关注导办！办事要带什么材料、去哪里办、多久办好，直接发文字问我就行，"
    "答案来自已公布的办事指南。"
)


def welcome() -> Rendered:
    return render_text(WELCOME, [Choice(title=question, payload=question) for question in TOP_QUESTIONS])
