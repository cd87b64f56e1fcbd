"""The knowledge store: reads of the published base, and imports.

Writes are whole transactions (an import either lands completely or not at all)
and bump a base-wide ``revision``, so that the retrieval index in every process
can ask "what changed since revision N?" and re-embed only those records. The
editors' workflow (``editing.py``) changes the live table only through
``next_revision`` and ``write_published`` below, so every path there is the same.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from pydantic import TypeAdapter
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from knowledge import audit
from knowledge.errors import RecordNotFound
from knowledge.notify import mark_revision
from knowledge.schema import Record
from knowledge.tables import CounterRow, RecordRow, RecordVersionRow

logger = logging.getLogger(__name__)

PUBLISHED = "published"
UNPUBLISHED = "unpublished"
REVISION_COUNTER = "revision"

_RECORD = TypeAdapter(Record)
_VOLATILE = ("version", "updated_at")


def record_from_json(data: dict) -> Record:
    return _RECORD.validate_python(data)


def record_to_json(record: Record) -> dict:
    return record.model_dump(mode="json")


def _content(data: dict) -> dict:
    return {k: v for k, v in data.items() if k not in _VOLATILE}


@dataclass
class ImportSummary:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    revision: int = 0

    @property
    def total(self) -> int:
        return len(self.created) + len(self.updated) + len(self.unchanged)


@dataclass(frozen=True)
class Changes:
    """What a reader must apply to move from ``since`` to ``revision``."""

    since: int
    revision: int
    upserted: list[Record]
    removed: list[str]


class KnowledgeStore:
    def __init__(self, engine: Engine):
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def engine(self) -> Engine:
        return self._engine

    def ping(self) -> None:
        with self._engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    # ---- reads -------------------------------------------------------------

    def revision(self) -> int:
        with self._sessions() as session:
            return int(session.scalar(select(func.coalesce(func.max(RecordRow.revision), 0))) or 0)

    def count(self, kind: str | None = None) -> int:
        query = select(func.count()).select_from(RecordRow).where(RecordRow.status == PUBLISHED)
        if kind:
            query = query.where(RecordRow.kind == kind)
        with self._sessions() as session:
            return int(session.scalar(query) or 0)

    def name_of(self, code: str | None) -> str | None:
        """The published record's name, or None (no code, unknown, unpublished): for labels, never for answers."""
        if code is None:
            return None
        with self._sessions() as session:
            return session.scalar(select(RecordRow.name).where(RecordRow.code == code, RecordRow.status == PUBLISHED))

    def get(self, code: str) -> Record:
        with self._sessions() as session:
            row = session.scalar(select(RecordRow).where(RecordRow.code == code))
            if row is None or row.status != PUBLISHED:
                raise RecordNotFound(code)
            return record_from_json(row.data)

    def published(self, kind: str | None = None) -> list[Record]:
        query = select(RecordRow).where(RecordRow.status == PUBLISHED).order_by(RecordRow.code)
        if kind:
            query = query.where(RecordRow.kind == kind)
        with self._sessions() as session:
            return [record_from_json(row.data) for row in session.scalars(query)]

    def changes_since(self, since: int) -> Changes:
        with self._sessions() as session:
            rows = list(session.scalars(select(RecordRow).where(RecordRow.revision > since)))
            revision = max([since, *(r.revision for r in rows)])
        upserted = [record_from_json(r.data) for r in rows if r.status == PUBLISHED]
        removed = [r.code for r in rows if r.status != PUBLISHED]
        return Changes(since=since, revision=revision, upserted=upserted, removed=removed)

    def content_hash(self) -> str:
        """A digest of what is published, stored in index manifests to refuse stale indexes."""
        query = select(RecordRow.code, RecordRow.version).where(RecordRow.status == PUBLISHED).order_by(RecordRow.code)
        digest = hashlib.sha256()
        with self._sessions() as session:
            for code, version in session.execute(query):
                digest.update(f"{code}@{version}\n".encode())
        return digest.hexdigest()

    # ---- writes ------------------------------------------------------------

    def import_records(self, records: Sequence[Record], *, actor: str) -> ImportSummary:
        """Create or update records in one transaction; unchanged records keep their version.

        The revision is taken first (see ``next_revision``); when nothing changed the
        transaction is rolled back, so an idle re-import gives out no revision.
        """
        summary = ImportSummary()
        now = datetime.now(timezone.utc).replace(microsecond=0)
        try:
            with self._sessions() as session, session.begin():
                revision = next_revision(session)
                existing = {
                    row.code: row
                    for row in session.scalars(select(RecordRow).where(RecordRow.code.in_([r.code for r in records])))
                }
                for record in records:
                    data = record_to_json(record)
                    row = existing.get(record.code)
                    if row is not None and row.status == PUBLISHED and _content(row.data) == _content(data):
                        summary.unchanged.append(record.code)
                        continue
                    if row is not None:
                        data["version"] = row.version + 1
                        data["updated_at"] = now.isoformat()
                    write_published(session, row, data, revision, actor)
                    (summary.updated if row is not None else summary.created).append(record.code)
                    audit.append(
                        session, actor=actor, action=audit.IMPORT, code=record.code, version=data["version"],
                        summary="updated by import" if row is not None else "created by import",
                    )
                if not summary.created and not summary.updated:
                    raise _NothingChanged
                summary.revision = revision
        except _NothingChanged:
            summary.revision = self.revision()
        logger.info(
            "imported %d record(s): %d new, %d updated, %d unchanged (revision %d)",
            summary.total, len(summary.created), len(summary.updated), len(summary.unchanged), summary.revision,
        )
        return summary


class _NothingChanged(Exception):
    """Rolls back an import that changed nothing, giving its revision back."""


def next_revision(session: Session) -> int:
    """Take the next base-wide revision inside the caller's transaction.

    ``UPDATE … SET value = value + 1 RETURNING value`` on a one-row counter, not
    ``max(revision) + 1``: on PostgreSQL two transactions reading the max at once
    would get the same number. The row lock also makes a second writer wait until
    the first commits, so revisions become visible in order and a reader that has
    seen revision N can never later meet a commit with a revision below N (a
    sequence would not give that). Callers take it first in their transaction:
    on SQLite that also takes the write lock before any read.
    """
    value = session.scalar(
        update(CounterRow).where(CounterRow.name == REVISION_COUNTER)
        .values(value=CounterRow.value + 1).returning(CounterRow.value)
    )
    if value is None:
        raise RuntimeError("the revision counter row is missing: run the database migrations")
    mark_revision(session.connection().info, int(value))  # announced once the transaction commits (notify.py)
    return int(value)


def write_published(session: Session, row: RecordRow | None, data: dict, revision: int, actor: str) -> RecordRow:
    """Make ``data`` the live record (inserting or updating ``row``) and keep it as a version."""
    record = record_from_json(data)
    if row is None:
        row = RecordRow(code=record.code)
        session.add(row)
    row.kind, row.name, row.status = record.kind, record.name, PUBLISHED
    row.version, row.revision, row.data, row.updated_at = record.version, revision, data, record.updated_at
    session.add(
        RecordVersionRow(
            code=record.code, version=record.version, status=PUBLISHED, data=data, actor=actor,
            created_at=datetime.now(timezone.utc),
        )
    )
    return row
