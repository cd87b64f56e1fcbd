"""The editors' API: list, read, draft, validate, publish, unpublish, history, diff, roll back, audit.

Every route needs an editor (``CurrentEditor``, 401 without one); the knowledge
package's errors become HTTP answers in one handler (``service.errors``):
not found 404, stale version 409, a draft that breaks the schema 422 with
field paths. Routes are plain ``def``: the store is blocking, FastAPI runs them
in its thread pool.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from knowledge.schema import RECORD_TYPES
from service.deps import CurrentEditor, EditingDep, current_editor
from service.editor_schemas import (
    AuditEntryOut,
    AuditOut,
    ChangeOut,
    DiffOut,
    DraftIn,
    DraftOut,
    HistoryOut,
    ProblemOut,
    PublishIn,
    PublishOut,
    RecordListOut,
    RecordOut,
    RecordSummaryOut,
    RollbackIn,
    ValidationOut,
    VersionOut,
)

router = APIRouter(prefix="/api/editor", tags=["editor"], dependencies=[Depends(current_editor)])

CodePath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
Kind = Annotated[str | None, Query(pattern=f"^({'|'.join(RECORD_TYPES)})$")]
Status = Annotated[str | None, Query(pattern="^(published|unpublished|draft)$")]


Out = TypeVar("Out", bound=BaseModel)


def _get(obj: object, model: type[Out]) -> Out:
    """The knowledge package's frozen dataclasses, shaped for the wire."""
    return model.model_validate(obj, from_attributes=True)


@router.get("/records", response_model=RecordListOut)
def list_records(editing: EditingDep, q: Annotated[str, Query(max_length=100)] = "", kind: Kind = None,
                 status: Status = None, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                 offset: Annotated[int, Query(ge=0)] = 0) -> RecordListOut:
    found, total = editing.list_records(q.strip(), kind, status, limit, offset)
    return RecordListOut(total=total, records=[_get(s, RecordSummaryOut) for s in found])


@router.get("/records/{code}", response_model=RecordOut)
def get_record(code: CodePath, editing: EditingDep) -> RecordOut:
    return _get(editing.view(code), RecordOut)


@router.put("/records/{code}/draft", response_model=DraftOut)
def save_draft(code: CodePath, body: DraftIn, editing: EditingDep, actor: CurrentEditor) -> DraftOut:
    draft = editing.save_draft(code, body.data, body.base_version, actor, draft_version=body.draft_version)
    return _get(draft, DraftOut)


@router.get("/records/{code}/draft/diff", response_model=DiffOut)
def diff_draft(code: CodePath, editing: EditingDep) -> DiffOut:
    view = editing.view(code)
    changes = editing.diff_draft(code)
    base = view.draft.base_version if view.draft else view.version
    return DiffOut(code=code, from_version=base, to_version=None, changes=[_get(c, ChangeOut) for c in changes])


@router.post("/records/{code}/validate", response_model=ValidationOut)
def validate(code: CodePath, editing: EditingDep) -> ValidationOut:
    problems = editing.validate_draft(code)
    return ValidationOut(valid=not problems, problems=[_get(p, ProblemOut) for p in problems])


@router.post("/records/{code}/publish", response_model=PublishOut)
def publish(code: CodePath, body: PublishIn, editing: EditingDep, actor: CurrentEditor) -> PublishOut:
    return _get(editing.publish(code, actor, body.draft_version), PublishOut)


@router.post("/records/{code}/unpublish", response_model=PublishOut)
def unpublish(code: CodePath, editing: EditingDep, actor: CurrentEditor) -> PublishOut:
    return _get(editing.unpublish(code, actor), PublishOut)


@router.post("/records/{code}/rollback", response_model=PublishOut)
def rollback(code: CodePath, body: RollbackIn, editing: EditingDep, actor: CurrentEditor) -> PublishOut:
    return _get(editing.rollback(code, body.to_version, actor), PublishOut)


@router.get("/records/{code}/history", response_model=HistoryOut)
def history(code: CodePath, editing: EditingDep) -> HistoryOut:
    return HistoryOut(code=code, versions=[_get(v, VersionOut) for v in editing.history(code)])


@router.get("/records/{code}/diff", response_model=DiffOut)
def diff(code: CodePath, editing: EditingDep, from_version: Annotated[int, Query(alias="from", ge=1)],
         to_version: Annotated[int, Query(alias="to", ge=1)]) -> DiffOut:
    changes = editing.diff(code, from_version, to_version)
    return DiffOut(code=code, from_version=from_version, to_version=to_version,
                   changes=[_get(c, ChangeOut) for c in changes])


@router.get("/audit", response_model=AuditOut)
def audit_log(editing: EditingDep, code: Annotated[str | None, Query(max_length=64)] = None,
              actor: Annotated[str | None, Query(max_length=120)] = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> AuditOut:
    return AuditOut(entries=[_get(e, AuditEntryOut) for e in editing.audit(code, actor, limit)])
