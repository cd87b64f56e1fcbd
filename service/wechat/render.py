"""The bot's messages as WeChat text messages.

WeChat shows no buttons in a text message, so the bot's buttons become one
numbered menu at the end ("回复数字选择：1. … 2. …") and the citizen answers
with the number (the journal keeps the bot's choices; ``service.conversation``
reads the number, or the words of a choice, against them).

A passive reply may carry 2048 bytes of UTF-8, a customer-service text 2048
characters; Chinese takes three bytes a character, so one byte budget under
both limits covers either way out. Longer answers (a material list for many
situations) are split between lines, at a paragraph break when the part is
already half full, never inside a line unless that one line is too long, and
the menu stays whole in the last part.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MAX_PART_BYTES = 1900
MORE = "（下条继续）"
MENU_HEAD = "回复数字选择："

# characters XML 1.0 does not allow, and the one sequence that would end wechatpy's CDATA section early
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SENTENCE_ENDS = "。！？；;，,、 "


@dataclass(frozen=True)
class Choice:
    title: str
    payload: str


@dataclass(frozen=True)
class Rendered:
    parts: tuple[str, ...]
    choices: tuple[Choice, ...]


def clean(text: str) -> str:
    text = _NOT_XML.sub("", (text or "").replace("\r\n", "\n").replace("\r", "\n"))
    return text.replace("]]>", "]] >").strip()


def menu(choices: Sequence[Choice]) -> str:
    return "\n".join([MENU_HEAD, *(f"{number}. {choice.title}" for number, choice in enumerate(choices, 1))])


def render(messages: Sequence[Mapping[str, Any]], *, max_bytes: int = MAX_PART_BYTES) -> Rendered:
    """Rasa's REST messages (text and buttons; images and custom payloads are left out) as WeChat texts."""
    paragraphs: list[list[str]] = []
    choices: list[Choice] = []
    for message in messages:
        text = clean(str(message.get("text") or ""))
        if text:
            paragraphs.extend(_paragraphs(text))
        for button in message.get("buttons") or []:
            title = clean(str(button.get("title") or ""))
            payload = str(button.get("payload") or title)
            if title:
                choices.append(Choice(title=title, payload=payload))
    return Rendered(parts=tuple(split(paragraphs, choices, max_bytes=max_bytes)), choices=tuple(choices))


def render_text(text: str, choices: Sequence[Choice] = (), *, max_bytes: int = MAX_PART_BYTES) -> Rendered:
    return Rendered(parts=tuple(split(_paragraphs(clean(text)), choices, max_bytes=max_bytes)), choices=tuple(choices))


def split(paragraphs: Sequence[Sequence[str]], choices: Sequence[Choice] = (), *,
          max_bytes: int = MAX_PART_BYTES) -> list[str]:
    """Paragraphs (lists of lines) and the menu packed into parts of at most ``max_bytes`` UTF-8 bytes each."""
    budget = max_bytes - _size("\n" + MORE)
    if budget < 16:
        raise ValueError(f"max_bytes must leave room for text, got {max_bytes}")
    blocks = [(list(p), False) for p in paragraphs if p]
    if choices:
        blocks.append((menu(choices).split("\n"), True))
    parts: list[list[str]] = []
    current: list[str] = []

    def flush() -> None:
        nonlocal current
        while current and not current[-1]:
            current.pop()
        if current:
            parts.append(current)
        current = []

    for lines, keep_whole in blocks:
        separated = [""] + lines if current else lines
        if _size("\n".join(current + separated)) <= budget:
            current.extend(separated)
            continue
        whole = _size("\n".join(lines)) <= budget
        if current and whole and (keep_whole or _size("\n".join(current)) * 2 >= budget):
            flush()
            current = list(lines)
            continue
        if current:
            current.append("")
        for line in lines:
            for piece in _cut(line, budget):
                if current and _size("\n".join([*current, piece])) > budget:
                    flush()
                current.append(piece)
    flush()
    texts = ["\n".join(part) for part in parts]
    return [text + ("\n" + MORE if number < len(texts) else "") for number, text in enumerate(texts, 1)]


def _paragraphs(text: str) -> list[list[str]]:
    paragraphs: list[list[str]] = [[]]
    for line in text.split("\n"):
        if line.strip():
            paragraphs[-1].append(line.rstrip())
        elif paragraphs[-1]:
            paragraphs.append([])
    return [p for p in paragraphs if p]


def _cut(line: str, budget: int) -> list[str]:
    """One line in pieces that fit: after the last sentence mark that fits, else at the last character that does."""
    pieces: list[str] = []
    while _size(line) > budget:
        end = _fitting_prefix(line, budget)
        mark = max(line.rfind(ch, 0, end) for ch in _SENTENCE_ENDS)
        cut = mark + 1 if mark >= end // 2 else end
        pieces.append(line[:cut].rstrip())
        line = line[cut:].lstrip()
    if line:
        pieces.append(line)
    return pieces


def _fitting_prefix(line: str, budget: int) -> int:
    used = 0
    for index, char in enumerate(line):
        used += _size(char)
        if used > budget:
            return index
    return len(line)


def _size(text: str) -> int:
    return len(text.encode("utf-8"))
