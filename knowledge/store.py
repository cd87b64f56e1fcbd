"""The knowledge store: the one place that reads and writes guide records.

Writes are whole transactions (an import either lands completely or not at all)
and bump a base-wide ``revision``, so that the retrieval index in every process
can ask "what changed since revision N?" and re-embed only those records.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from pydantic import TypeAdapter
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.errors import RecordNotFound
from knowledge.schema import Record
from knowledge.tables import RecordRow, RecordVersionRow

logger = logging.getLogger(__name__)

PUBLISHED = "published"
UNPUBLISHED = "unpublished"

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
        """Create or update records in one transaction; unchanged records keep their version."""
        summary = ImportSummary()
        now = datetime.now(timezone.utc).replace(microsecond=0)
        with self._sessions.begin() as session:
            revision = self._next_revision(session)
            existing = {
                row.code: row
                for row in session.scalars(select(RecordRow).where(RecordRow.code.in_([r.code for r in records])))
            }
            for record in records:
                data = record_to_json(record)
                row = existing.get(record.code)
                if row is None:
                    self._insert(session, data, revision, actor)
                    summary.created.append(record.code)
                elif row.status == PUBLISHED and _content(row.data) == _content(data):
                    summary.unchanged.append(record.code)
                else:
                    data["version"] = row.version + 1
                    data["updated_at"] = now.isoformat()
                    self._update(session, row, data, revision, actor)
                    summary.updated.append(record.code)
            summary.revision = revision
        logger.info(
            "imported %d record(s): %d new, %d updated, %d unchanged (revision %d)",
            summary.total, len(summary.created), len(summary.updated), len(summary.unchanged), revision,
        )
        return summary

    @staticmethod
    def _next_revision(session: Session) -> int:
        return int(session.scalar(select(func.coalesce(func.max(RecordRow.revision), 0))) or 0) + 1

    @staticmethod
    def _insert(session: Session, data: dict, revision: int, actor: str) -> None:
        record = record_from_json(data)
        session.add(
            RecordRow(
                code=record.code, kind=record.kind, name=record.name, status=PUBLISHED,
                version=record.version, revision=revision, data=data, updated_at=record.updated_at,
            )
        )
        _add_version(session, data, actor)

    @staticmethod
    def _update(session: Session, row: RecordRow, data: dict, revision: int, actor: str) -> None:
        record = record_from_json(data)
        row.kind, row.name, row.status = record.kind, record.name, PUBLISHED
        row.version, row.revision, row.data, row.updated_at = record.version, revision, data, record.updated_at
        _add_version(session, data, actor)


def _add_version(session: Session, data: dict, actor: str) -> None:
    session.add(
        RecordVersionRow(
            code=data["code"], version=data["version"], status=PUBLISHED, data=data, actor=actor,
            created_at=datetime.now(timezone.utc),
        )
    )
