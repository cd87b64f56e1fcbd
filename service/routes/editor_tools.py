"""Two editor tools beside the draft workflow: preview a record's answer, and the to-do list.

``POST /api/editor/preview`` shows what the bot would say from a record (a
draft, typically) to a question, and what retrieval on the *published* base
does with that question: an editor sees both "is my text right" and "will the
citizens' wording reach it". Which aspect the question asks is read from its
words (``detect_aspect``), as a stand-in for the bot's NLU.

``GET /api/editor/todo`` lists what the journal collected: questions the bot
declined, grouped by their normalised text, and answers citizens rated 没用,
grouped by the guide they came from; biggest groups first.

Role ``editor`` (admins pass too); a record that breaks the schema is 422 with
field paths, as on publish.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from actions.answers import answer_record
from journal.log import TodoGroup
from knowledge.checks import schema_problems
from knowledge.errors import DraftInvalid
from knowledge.schema import Item
from knowledge.store import KnowledgeStore
from service.console_schemas import (
    PreviewReply,
    PreviewRequest,
    PreviewResponse,
    PreviewRetrieval,
    RetrievalHit,
    TodoGroupOut,
    TodoOut,
)
from service.deps import EngineDep, JournalDep, StoreDep, current_editor
from service.schemas import Button

router = APIRouter(prefix="/api/editor", tags=["editor"], dependencies=[Depends(current_editor)])

# the first aspect whose words the question has; "怎么办" is the vaguest, so procedure comes last
ASPECT_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("materials", ("材料", "带什么", "要带", "证件", "需要什么")),
    ("online", ("网上", "手机", "网办", "线上", "小程序", "app", "APP")),
    ("fee", ("钱", "费", "收费")),
    ("time", ("多久", "几天", "时限", "多长时间", "多少天")),
    ("place", ("哪里", "哪儿", "在哪", "地址", "电话", "窗口")),
    ("procedure", ("流程", "怎么办", "步骤", "程序", "如何办")),
)
TOP_HITS = 5


def detect_aspect(question: str) -> str:
    for aspect, words in ASPECT_WORDS:
        if any(word in question for word in words):
            return aspect
    return "overview"


@router.post("/preview", response_model=PreviewResponse)
def preview(body: PreviewRequest, source: EngineDep) -> PreviewResponse:
    record, problems = schema_problems(body.record)
    if record is None:
        raise DraftInvalid(str(body.record.get("code") or ""), problems)
    engine = source.engine()
    # bundles and cross-province entries have one answer whatever is asked
    aspect = detect_aspect(body.question) if isinstance(record, Item) else "overview"
    reply = answer_record(record, aspect, engine.record)
    result = engine.search(body.question, top_k=TOP_HITS)
    shown = result.shown[0].code if result.shown else None
    return PreviewResponse(
        aspect=aspect,
        reply=PreviewReply(text=reply.text, buttons=[Button(**b) for b in reply.buttons]),
        retrieval=PreviewRetrieval(decision=result.decision, top=[
            RetrievalHit(code=c.code, name=c.name, score=round(c.score, 6)) for c in result.candidates
        ]),
        would_answer_this_record=result.decision == "answer" and shown == record.code,
    )


@router.get("/todo", response_model=TodoOut)
def todo(journal: JournalDep, store: StoreDep, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> TodoOut:
    return TodoOut(groups=[_group(g, store) for g in journal.todo(limit)])


def _group(group: TodoGroup, store: KnowledgeStore) -> TodoGroupOut:
    return TodoGroupOut(key=group.key, kind=group.kind, count=group.count, examples=list(group.examples),
                        item_code=group.item_code, item_name=store.name_of(group.item_code), last_at=group.last_at)

