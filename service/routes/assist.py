"""Suggested answers with their source, for hotline agents and any other client.

The same engine the bot's actions use, so an agent and a citizen asking the same
question see the same guide and version. Hotline agents only: role ``agent``
(admins pass too), 401 without a login, 403 for other roles.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from actions.answers import answer_record
from index.engine import RetrievalEngine
from knowledge.schema import Item, Record
from service.deps import EngineDep, require_role
from service.schemas import AssistAnswer, AssistCandidate, AssistRequest, AssistResponse, Correction, DistrictDetails

router = APIRouter(tags=["assist"], dependencies=[Depends(require_role("agent"))])  # hotline agents only


@router.post("/api/assist", response_model=AssistResponse)
def assist(request: AssistRequest, source: EngineDep) -> AssistResponse:
    engine = source.engine()
    result = engine.search(request.question, top_k=request.top_k)
    candidates = [
        AssistCandidate(item_id=c.code, kind=c.kind, name=c.name, score=round(c.score, 6), snippet=c.matched)
        for c in result.candidates
    ]
    answer = None
    if result.decision == "answer":
        record = engine.record(result.shown[0].code)
        if record is not None:
            answer = _answer(engine, record, request.district)
    return AssistResponse(
        decision=result.decision, candidates=candidates, answer=answer, revision=result.revision, searched=result.query,
        corrections=[Correction(typed=typed, read_as=word) for typed, word in result.corrections],
    )


def _answer(engine: RetrievalEngine, record: Record, district: str | None) -> AssistAnswer:
    variant = record.variant_for(district) if isinstance(record, Item) else None
    return AssistAnswer(
        item_id=record.code, kind=record.kind, name=record.name, version=record.version,
        updated_at=record.updated_at.isoformat(), text=answer_record(record, "materials", engine.record).text,
        district=DistrictDetails(**variant.model_dump()) if variant else None,
    )
