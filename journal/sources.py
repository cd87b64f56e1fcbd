"""Which guide a bot message was answered from, read back from the message itself.

Every answer that states what a guide says ends with its source line
(``actions.answers.source_line``)::

    （来源：《居住证申领》办事指南 第1版，更新于2026-10-15）

The service reads the guide's name and version from that line and looks the
name up among the knowledge base's records to get the code. The message is the
one thing the web channel, WeChat and the action server all share, so nothing
in the Rasa conversation has to carry the code. An item and its 跨省通办 entry
share a name; the reply's own wording says which kind it was (a bundle's reply
says 一件事一次办, a cross-province entry's 可跨省（异地）办理), and among records
of that name the kind that fits wins, then the one at the cited version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Engine, select

from knowledge.tables import RecordRow

_SOURCE = re.compile(r"（来源：《(?P<name>.+?)》办事指南 第(?P<version>\d+)版")
_BUNDLE_MARK = "（一件事一次办）"
_CROSS_PROVINCE_MARK = "可跨省（异地）办理"


@dataclass(frozen=True)
class CitedGuide:
    name: str
    version: int
    kind: str  # "item", "bundle" or "cross_province": what the reply's wording says


@dataclass(frozen=True)
class GuideRef:
    code: str
    version: int


def cited_guide(text: str) -> CitedGuide | None:
    """The guide a bot message names in its source line; None for a message without one."""
    match = _SOURCE.search(text or "")
    if match is None:
        return None
    name = match.group("name")
    head = (text or "")[: match.start()]
    if f"【{name}】{_BUNDLE_MARK}" in head:
        kind = "bundle"
    elif f"【{name}】{_CROSS_PROVINCE_MARK}" in head:
        kind = "cross_province"
    else:
        kind = "item"
    return CitedGuide(name=name, version=int(match.group("version")), kind=kind)


class GuideNames:
    """Resolves a cited guide to its record's code through the knowledge base's records table."""

    def __init__(self, engine: Engine):
        self._engine = engine

    def resolve(self, text: str) -> GuideRef | None:
        cited = cited_guide(text)
        if cited is None:
            return None
        query = select(RecordRow.code, RecordRow.kind, RecordRow.version).where(RecordRow.name == cited.name)
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        if not rows:
            return None
        best = max(rows, key=lambda r: (r.kind == cited.kind, r.version == cited.version, r.code))
        return GuideRef(code=best.code, version=cited.version)
