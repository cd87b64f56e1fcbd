"""Request and response shapes of the editors' API (``/api/editor``).

Kept apart from ``schemas.py`` (the citizens' and agents' API) so the public
shapes never grow editor-only fields by accident.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DraftIn(_In):
    """``base_version``: the published version the edit started from (0 for a new record);
    ``draft_version``: the draft save it edited, or null when starting a draft."""

    data: dict[str, Any]
    base_version: int = Field(ge=0)
    draft_version: int | None = Field(default=None, ge=1)


class PublishIn(_In):
    """The draft save the editor reviewed; a newer save is refused (409) instead of published unseen."""

    draft_version: int = Field(ge=1)


class RollbackIn(_In):
    to_version: int = Field(ge=1)


class RecordSummaryOut(BaseModel):
    code: str
    name: str
    kind: str
    status: Literal["published", "unpublished", "draft"]
    version: int
    draft_version: int | None


class RecordListOut(BaseModel):
    total: int
    records: list[RecordSummaryOut]


class DraftOut(BaseModel):
    version: int
    base_version: int
    data: dict[str, Any]
    actor: str
    updated_at: datetime


class RecordOut(BaseModel):
    code: str
    kind: str
    name: str
    status: Literal["published", "unpublished", "draft"]
    version: int
    published: dict[str, Any] | None
    draft: DraftOut | None


class ProblemOut(BaseModel):
    field: str
    message: str


class ValidationOut(BaseModel):
    valid: bool
    problems: list[ProblemOut]


class PublishOut(BaseModel):
    code: str
    version: int
    revision: int


class VersionOut(BaseModel):
    version: int
    status: Literal["published", "unpublished", "superseded"]
    actor: str
    created_at: datetime


class HistoryOut(BaseModel):
    code: str
    versions: list[VersionOut]


class ChangeOut(BaseModel):
    op: Literal["added", "removed", "changed", "reordered"]
    path: str
    old: Any = None
    new: Any = None


class DiffOut(BaseModel):
    code: str
    from_version: int
    to_version: int | None = Field(description="null when comparing the draft with the version it started from")
    changes: list[ChangeOut]


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    code: str
    version: int | None
    summary: str


class AuditOut(BaseModel):
    entries: list[AuditEntryOut]
