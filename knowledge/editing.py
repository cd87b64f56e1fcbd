"""The editors' workflow: drafts, checks, publish, unpublish, history, diff, roll-back, audit.

Retrieval reads only ``kb_records`` (through ``KnowledgeStore``); drafts live in
``kb_drafts`` until published, so nothing half-edited reaches a citizen.

Optimistic concurrency, never a silent overwrite: a draft save names the
published version it started from (``base_version``, 0 for a new record) and the
draft save it edited (``draft_version``, None when starting a draft). If either
has moved, the save raises ``VersionConflict``. The check is repeated in the
write itself (``UPDATE … WHERE version = :seen`` and the unique draft code), so
two editors racing past the check still cannot both win. Writes that change
what is live take the base-wide revision first (``next_revision``), which also
queues them one after the other.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from knowledge import audit
from knowledge.checks import draft_body, draft_name, reference_problems, schema_problems
from knowledge.diff import Change, diff_records
from knowledge.editing_views import Draft, EditorView, PublishResult, RecordSummary, VersionInfo
from knowledge.errors import DraftInvalid, DraftNotFound, FieldProblem, RecordNotFound, VersionConflict, VersionNotFound
from knowledge.store import PUBLISHED, UNPUBLISHED, KnowledgeStore, next_revision, record_to_json, write_published
from knowledge.tables import DraftRow, RecordRow, RecordVersionRow

logger = logging.getLogger(__name__)

DRAFT = "draft"
SUPERSEDED = "superseded"


class Editing:
    """Editing operations over the same database as ``store``; cheap to build per request."""

    def __init__(self, store: KnowledgeStore):
        self._sessions = sessionmaker(store.engine, expire_on_commit=False)

    # ---- reads -------------------------------------------------------------

    def list_records(self, query: str = "", kind: str | None = None, status: str | None = None,
                     limit: int = 50, offset: int = 0) -> tuple[list[RecordSummary], int]:
        """Records and new drafts whose code or name contains ``query``; with the total count."""
        with self._sessions() as session:
            rows = select(RecordRow.code, RecordRow.name, RecordRow.kind, RecordRow.status, RecordRow.version)
            new = select(DraftRow.code, DraftRow.name, DraftRow.kind).where(DraftRow.base_version == 0)
            if query:
                rows = rows.where(or_(RecordRow.code.icontains(query, autoescape=True),
                                      RecordRow.name.icontains(query, autoescape=True)))
                new = new.where(or_(DraftRow.code.icontains(query, autoescape=True),
                                    DraftRow.name.icontains(query, autoescape=True)))
            if kind:
                rows, new = rows.where(RecordRow.kind == kind), new.where(DraftRow.kind == kind)
            drafts = dict(session.execute(select(DraftRow.code, DraftRow.version)).tuples().all())
            found = [
                RecordSummary(code, name, kind_, status_, version, drafts.get(code))
                for code, name, kind_, status_, version in session.execute(rows)
            ]
            known = {s.code for s in found}
            found += [RecordSummary(code, name, kind_, DRAFT, 0, drafts[code])
                      for code, name, kind_ in session.execute(new) if code not in known]
        if status:
            found = [s for s in found if s.status == status]
        found.sort(key=lambda s: s.code)
        return found[offset: offset + limit], len(found)

    def view(self, code: str) -> EditorView:
        with self._sessions() as session:
            row = self._record(session, code)
            draft = self._draft(session, code)
            if row is None and draft is None:
                raise RecordNotFound(code)
        if row is None:
            assert draft is not None
            return EditorView(code, draft.kind, draft.name, DRAFT, 0, None, _draft_view(draft))
        return EditorView(code, row.kind, row.name, row.status, row.version, row.data,
                          _draft_view(draft) if draft else None)

    def validate_draft(self, code: str) -> list[FieldProblem]:
        with self._sessions() as session:
            draft = self._draft(session, code)
            if draft is None:
                raise DraftNotFound(code)
            return _problems(session, draft.data)[1]

    def history(self, code: str) -> list[VersionInfo]:
        """Published versions, oldest first; the newest says whether it is live or withdrawn."""
        with self._sessions() as session:
            row = self._record(session, code)
            if row is None:
                if self._draft(session, code) is None:
                    raise RecordNotFound(code)
                return []
            versions = session.scalars(
                select(RecordVersionRow).where(RecordVersionRow.code == code).order_by(RecordVersionRow.version)
            ).all()
        return [
            VersionInfo(v.version, row.status if v.version == row.version else SUPERSEDED, v.actor,
                        audit.utc(v.created_at))
            for v in versions
        ]

    def diff(self, code: str, from_version: int, to_version: int) -> list[Change]:
        with self._sessions() as session:
            old, new = self._version(session, code, from_version), self._version(session, code, to_version)
        return diff_records(old.data, new.data)

    def diff_draft(self, code: str) -> list[Change]:
        """What publishing the draft would change against the version it started from."""
        with self._sessions() as session:
            draft = self._draft(session, code)
            if draft is None:
                raise DraftNotFound(code)
            base = self._version(session, code, draft.base_version).data if draft.base_version else {}
        return diff_records(base, draft.data)

    def audit(self, code: str | None = None, actor: str | None = None, limit: int = 100) -> list[audit.AuditEntry]:
        with self._sessions() as session:
            return audit.read(session, code=code, actor=actor, limit=limit)

    # ---- writes ------------------------------------------------------------

    def save_draft(self, code: str, data: dict[str, Any], base_version: int, actor: str,
                   *, draft_version: int | None = None) -> Draft:
        body = draft_body(code, data)
        with self._sessions() as session, session.begin():
            row = self._record(session, code)
            published = row.version if row else 0
            if row is not None and body["kind"] != row.kind:
                raise DraftInvalid(code, [FieldProblem("kind", f"the record is a {row.kind}; a kind cannot change")])
            if base_version != published:
                raise VersionConflict(code, base_version, published,
                                      f"{code}: version {published} is published now, the edit started from "
                                      f"version {base_version}; reload and edit again")
            draft = self._draft(session, code)
            if draft is None:
                saved = self._start_draft(session, code, body, published, actor, draft_version)
            else:
                saved = self._update_draft(session, draft, body, published, actor, draft_version)
            audit.append(session, actor=actor, action=audit.DRAFT, code=code, version=saved.version,
                         summary=f"draft save {saved.version}, based on version {published}")
        logger.info("%s saved draft %d of %s", actor, saved.version, code)
        return saved

    def publish(self, code: str, actor: str, expected_draft_version: int) -> PublishResult:
        with self._sessions() as session, session.begin():
            revision = next_revision(session)
            draft = session.scalar(select(DraftRow).where(DraftRow.code == code).with_for_update())
            if draft is None:
                raise DraftNotFound(code)
            if draft.version != expected_draft_version:
                raise VersionConflict(code, expected_draft_version, draft.version,
                                      f"{code}: the draft is at save {draft.version} (by {draft.actor}), "
                                      f"you reviewed save {expected_draft_version}")
            row = self._record(session, code)
            published = row.version if row else 0
            if draft.base_version != published:
                raise VersionConflict(code, draft.base_version, published,
                                      f"{code}: version {published} was published after this draft was started "
                                      f"from version {draft.base_version}; save the draft again on top of it")
            data = self._checked(session, code, {**draft.data, "version": published + 1, "updated_at": _now_iso()})
            changed = len(diff_records(row.data, data)) if row else None
            write_published(session, row, data, revision, actor)
            session.delete(draft)
            audit.append(session, actor=actor, action=audit.PUBLISH, code=code, version=published + 1,
                         summary=f"draft save {draft.version} published" +
                                 (f", {changed} change(s)" if changed is not None else ", new record"))
        logger.info("%s published %s version %d (revision %d)", actor, code, published + 1, revision)
        return PublishResult(code, published + 1, revision)

    def unpublish(self, code: str, actor: str) -> PublishResult:
        with self._sessions() as session, session.begin():
            revision = next_revision(session)
            row = self._record(session, code)
            if row is None or row.status != PUBLISHED:
                raise RecordNotFound(code)
            row.status, row.revision = UNPUBLISHED, revision
            audit.append(session, actor=actor, action=audit.UNPUBLISH, code=code, version=row.version,
                         summary=f"version {row.version} withdrawn")
            version = row.version
        logger.info("%s unpublished %s (revision %d)", actor, code, revision)
        return PublishResult(code, version, revision)

    def rollback(self, code: str, to_version: int, actor: str) -> PublishResult:
        """Publish the content of ``to_version`` again as a new version; history stays as it was."""
        with self._sessions() as session, session.begin():
            revision = next_revision(session)
            old = self._version(session, code, to_version)
            row = self._record(session, code)
            assert row is not None  # a version row exists only for a record that was published
            version = row.version + 1
            data = self._checked(session, code, {**old.data, "version": version, "updated_at": _now_iso()})
            write_published(session, row, data, revision, actor)
            audit.append(session, actor=actor, action=audit.ROLLBACK, code=code, version=version,
                         summary=f"content of version {to_version} published again as version {version}")
        logger.info("%s rolled %s back to version %d as version %d", actor, code, to_version, version)
        return PublishResult(code, version, revision)

    # ---- helpers -----------------------------------------------------------

    @staticmethod
    def _record(session: Session, code: str) -> RecordRow | None:
        return session.scalar(select(RecordRow).where(RecordRow.code == code))

    @staticmethod
    def _draft(session: Session, code: str) -> DraftRow | None:
        return session.scalar(select(DraftRow).where(DraftRow.code == code))

    @staticmethod
    def _version(session: Session, code: str, version: int) -> RecordVersionRow:
        row = session.scalar(
            select(RecordVersionRow).where(RecordVersionRow.code == code, RecordVersionRow.version == version)
        )
        if row is None:
            if session.scalar(select(func.count()).select_from(RecordRow).where(RecordRow.code == code)) == 0:
                raise RecordNotFound(code)
            raise VersionNotFound(code, version)
        return row

    @staticmethod
    def _checked(session: Session, code: str, data: dict) -> dict:
        record, problems = _problems(session, data)
        if problems or record is None:
            raise DraftInvalid(code, problems)
        return record_to_json(record)

    @staticmethod
    def _start_draft(session: Session, code: str, body: dict, published: int, actor: str,
                     draft_version: int | None) -> Draft:
        if draft_version is not None:
            raise VersionConflict(code, draft_version, None,
                                  f"{code}: draft save {draft_version} no longer exists (it was published); reload")
        draft = DraftRow(code=code, kind=body["kind"], name=draft_name(code, body), version=1, base_version=published,
                         data=body, actor=actor, updated_at=audit.now_utc())
        session.add(draft)
        try:
            session.flush()
        except IntegrityError as exc:
            raise VersionConflict(code, None, 1,
                                  f"{code}: another editor started a draft at the same time; reload") from exc
        return _draft_view(draft)

    @staticmethod
    def _update_draft(session: Session, draft: DraftRow, body: dict, published: int, actor: str,
                      draft_version: int | None) -> Draft:
        seen = "the published version" if draft_version is None else f"draft save {draft_version}"
        conflict = VersionConflict(draft.code, draft_version, draft.version,
                                   f"{draft.code}: the draft is at save {draft.version} by {draft.actor}, "
                                   f"the edit was based on {seen}; reload and edit again")
        if draft_version != draft.version:
            raise conflict
        now = audit.now_utc()
        saved = session.scalar(
            update(DraftRow).where(DraftRow.code == draft.code, DraftRow.version == draft_version).values(
                version=DraftRow.version + 1, base_version=published, data=body, name=draft_name(draft.code, body),
                actor=actor, updated_at=now,
            ).returning(DraftRow.version).execution_options(synchronize_session=False)
        )
        if saved is None:  # another save or a publish got there between our read and this write
            raise conflict
        return Draft(draft.code, draft_version + 1, published, body, actor, now)


def _problems(session: Session, data: dict) -> tuple[Any, list[FieldProblem]]:
    record, problems = schema_problems(data)
    if record is not None:
        problems = reference_problems(record, lambda codes: _published_kinds(session, codes))
    return record, problems


def _published_kinds(session: Session, codes: Sequence[str]) -> dict[str, str]:
    query = select(RecordRow.code, RecordRow.kind).where(RecordRow.code.in_(codes), RecordRow.status == PUBLISHED)
    return dict(session.execute(query).tuples().all())


def _draft_view(row: DraftRow) -> Draft:
    return Draft(row.code, row.version, row.base_version, row.data, row.actor, audit.utc(row.updated_at))


def _now_iso() -> str:
    return audit.now_utc().replace(microsecond=0).isoformat()
