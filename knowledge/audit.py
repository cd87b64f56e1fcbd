"""The audit log: who changed which record, when, and how.

Rows are appended inside the transaction of the write they describe, so the log
never claims a change that was rolled back, nor misses one that landed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.tables import AuditRow

IMPORT = "import"
DRAFT = "draft"
PUBLISH = "publish"
UNPUBLISH = "unpublish"
ROLLBACK = "rollback"
ACTIONS = (IMPORT, DRAFT, PUBLISH, UNPUBLISH, ROLLBACK)

MAX_LIMIT = 1000
_SUMMARY_CHARS = 500


def utc(moment: datetime) -> datetime:
    """SQLite hands timestamps back without a zone; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    code: str
    version: int | None
    summary: str


def append(session: Session, *, actor: str, action: str, code: str, version: int | None, summary: str) -> None:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}, expected one of {ACTIONS}")
    session.add(
        AuditRow(at=now_utc(), actor=actor, action=action, code=code, version=version, summary=summary[:_SUMMARY_CHARS])
    )


def read(session: Session, *, code: str | None = None, actor: str | None = None, limit: int = 100) -> list[AuditEntry]:
    """Newest first."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
    if code:
        query = query.where(AuditRow.code == code)
    if actor:
        query = query.where(AuditRow.actor == actor)
    return [
        AuditEntry(r.id, utc(r.at), r.actor, r.action, r.code, r.version, r.summary) for r in session.scalars(query)
    ]
