"""Handover tickets (转人工): when the bot hands a citizen to the hall's staff, and what happens next.

States and the moves between them (anything else raises ``TicketStateError``)::

    open ──> waiting ──take──> taken ──hand_back──> handed_back ──take──> taken
                │                │                      │
                └────close───────┴────────close─────────┴──> closed

``waiting`` and ``taken`` are *active*: a citizen has at most one active ticket
(a partial unique index in the database says so), and ``open`` for a citizen who
already has one returns it, so a retried or doubled handover never opens two.
``handed_back`` means the bot talks to the citizen again; staff may take it back.

Every message is masked (``privacy.mask_text``) before it is stored: staff see
"138****5678", never a whole phone or ID number typed into the chat.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from sqlalchemy import Connection, Engine, Row, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from hall.errors import TicketNotFound, TicketStateError
from hall.privacy import mask_text
from hall.tables import (
    ACTIVE_TICKET_STATES,
    TicketMessageRow,
    TicketRow,
    from_db,
    readable_code,
    to_utc,
    write_transaction,
)

logger = logging.getLogger(__name__)

TicketReason = Literal["human", "cannot_get_done", "repeated_failure", "door_to_door", "agent_takeover"]
TicketStatus = Literal["waiting", "taken", "closed", "handed_back"]
Role = Literal["citizen", "bot", "agent", "system"]
REASONS: frozenset[str] = frozenset(get_args(TicketReason))
STATUSES: frozenset[str] = frozenset(get_args(TicketStatus))
ROLES: frozenset[str] = frozenset(get_args(Role))
NUMBER_PREFIX = "BB"  # 帮办


def new_ticket_number() -> str:
    return readable_code(NUMBER_PREFIX, 8)


@dataclass(frozen=True)
class TicketMessage:
    role: str
    text: str
    at: datetime


@dataclass(frozen=True)
class Ticket:
    number: str
    sender_id: str
    channel: str
    reason: str
    item_code: str | None
    item_name: str | None
    district: str | None
    missing_materials: tuple[str, ...]
    status: str
    assignee: str | None
    created_at: datetime
    reply_due_at: datetime
    first_response_at: datetime | None
    closed_at: datetime | None
    messages: tuple[TicketMessage, ...] = ()

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_TICKET_STATES

    @property
    def first_response_seconds(self) -> float | None:
        """Seconds from handover to the first staff reply: what the hall's service promise is measured on."""
        if self.first_response_at is None:
            return None
        return (self.first_response_at - self.created_at).total_seconds()

    def overdue(self, now: datetime) -> bool:
        """Still unanswered by staff after the promised reply time."""
        return self.first_response_at is None and self.status != "closed" and to_utc(now) > self.reply_due_at


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {sorted(ROLES)}, got {role!r}")


class TicketDesk:
    """Opens handover tickets and moves them through their states."""

    def __init__(self, engine: Engine, *, numbers: Callable[[], str] = new_ticket_number, attempts: int = 5):
        if attempts < 1:
            raise ValueError(f"attempts must be >= 1, got {attempts}")
        self._engine = engine
        self._numbers = numbers
        self._attempts = attempts

    def open(
        self, *, sender_id: str, channel: str, reason: str, item_code: str | None, item_name: str | None,
        district: str | None, missing_materials: Sequence[str], transcript: Sequence[tuple[str, str]],
        now: datetime, reply_within: timedelta,
    ) -> Ticket:
        """Open a ticket with the conversation so far, or return the citizen's active one unchanged."""
        if reason not in REASONS:
            raise ValueError(f"reason must be one of {sorted(REASONS)}, got {reason!r}")
        for role, _ in transcript:
            _check_role(role)
        stamp = to_utc(now)
        for attempt in range(1, self._attempts + 1):
            try:
                with write_transaction(self._engine) as connection:
                    existing = _active_row(connection, sender_id)
                    if existing is not None:
                        return _load(connection, existing)
                    result = connection.execute(insert(TicketRow).values(
                        number=self._numbers(), sender_id=sender_id, channel=channel, reason=reason,
                        item_code=item_code, item_name=item_name, district=district,
                        missing_materials=list(missing_materials), status="waiting", assignee=None,
                        created_at=stamp, reply_due_at=stamp + reply_within,
                    ))
                    ticket_id = result.inserted_primary_key[0]
                    for role, text in transcript:
                        _add_message(connection, ticket_id, role, text, stamp)
                    ticket = _load(connection, _row_by_id(connection, ticket_id))
            except IntegrityError:
                # another handover for this citizen committed first (or, rarely, the number was taken):
                # the next attempt finds that ticket and returns it
                logger.info("ticket open raced another writer (attempt %d of %d)", attempt, self._attempts)
                if attempt == self._attempts:
                    raise
                continue
            logger.info("opened ticket %s (%s, %s)", ticket.number, reason, channel)
            return ticket
        raise AssertionError("unreachable")  # pragma: no cover

    def active_for(self, sender_id: str) -> Ticket | None:
        with self._engine.connect() as connection:
            row = _active_row(connection, sender_id)
            return _load(connection, row) if row is not None else None

    def get(self, number: str) -> Ticket:
        with self._engine.connect() as connection:
            return _load(connection, _row(connection, number))

    def append(self, number: str, role: str, text: str, now: datetime) -> Ticket:
        """Add a (masked) line to an open ticket's conversation."""
        _check_role(role)
        stamp = to_utc(now)
        with write_transaction(self._engine) as connection:
            row = _row(connection, number)
            if row.status == "closed":
                raise TicketStateError(row.number, row.status, "add a message")
            _add_message(connection, row.id, role, text, stamp)
            return _load(connection, row)

    def take(self, number: str, agent: str, now: datetime) -> Ticket:
        """A staff member takes the ticket (again, after a hand-back); taking one's own ticket twice is a no-op."""
        stamp = to_utc(now)
        try:
            with write_transaction(self._engine) as connection:
                row = _row(connection, number)
                if row.status == "taken" and row.assignee == agent:
                    return _load(connection, row)
                _move(connection, row, "take", ("waiting", "handed_back"), status="taken", assignee=agent)
                _add_message(connection, row.id, "system", f"工作人员{agent}已接入", stamp)
                return _load(connection, _row_by_id(connection, row.id))
        except IntegrityError as exc:  # a handed-back ticket while the citizen has opened a newer one
            raise TicketStateError(number, "handed_back", "take: the citizen has another active ticket") from exc

    def reply(self, number: str, agent: str, text: str, now: datetime) -> Ticket:
        """The assignee answers; the first answer's time is kept as ``first_response_at``."""
        stamp = to_utc(now)
        with write_transaction(self._engine) as connection:
            row = _row(connection, number)
            if row.status == "taken" and row.assignee != agent:
                raise TicketStateError(row.number, f"taken by {row.assignee}", f"reply as {agent}")
            _move(
                connection, row, "reply", ("taken",),
                first_response_at=func.coalesce(TicketRow.first_response_at, stamp),
            )
            _add_message(connection, row.id, "agent", text, stamp)
            return _load(connection, _row_by_id(connection, row.id))

    def close(self, number: str, now: datetime) -> Ticket:
        stamp = to_utc(now)
        with write_transaction(self._engine) as connection:
            row = _row(connection, number)
            _move(connection, row, "close", ("waiting", "taken", "handed_back"), status="closed", closed_at=stamp)
            return _load(connection, _row_by_id(connection, row.id))

    def hand_back(self, number: str, now: datetime) -> Ticket:
        """Staff give the conversation back to the bot; the ticket stays open for them to take again."""
        stamp = to_utc(now)
        with write_transaction(self._engine) as connection:
            row = _row(connection, number)
            _move(connection, row, "hand back", ("taken",), status="handed_back")
            _add_message(connection, row.id, "system", "已转回智能导办", stamp)
            return _load(connection, _row_by_id(connection, row.id))

    def list(self, status: str | None = None) -> builtins.list[Ticket]:
        """Tickets newest first, optionally in one state; without their messages (``get`` has those)."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"status must be one of {sorted(STATUSES)}, got {status!r}")
        query = select(TicketRow).order_by(TicketRow.created_at.desc(), TicketRow.id.desc())
        if status is not None:
            query = query.where(TicketRow.status == status)
        with self._engine.connect() as connection:
            return [_to_ticket(row, ()) for row in connection.execute(query)]


def _move(connection: Connection, row: Row, move: str, allowed: tuple[str, ...], **values: object) -> None:
    """Change the ticket only if it is still in the state it was read in; otherwise ``TicketStateError``."""
    if row.status not in allowed:
        raise TicketStateError(row.number, row.status, move)
    changed = connection.execute(
        update(TicketRow).where(TicketRow.id == row.id, TicketRow.status == row.status).values(**values)
    )
    if changed.rowcount != 1:  # moved by someone else since it was read
        raise TicketStateError(row.number, _row_by_id(connection, row.id).status, move)


def _add_message(connection: Connection, ticket_id: int, role: str, text: str, at: datetime) -> None:
    connection.execute(insert(TicketMessageRow).values(ticket_id=ticket_id, role=role, text=mask_text(text), at=at))


def _active_row(connection: Connection, sender_id: str) -> Row | None:
    return connection.execute(
        select(TicketRow).where(TicketRow.sender_id == sender_id, TicketRow.status.in_(ACTIVE_TICKET_STATES))
    ).first()


def _row(connection: Connection, number: str) -> Row:
    row = connection.execute(select(TicketRow).where(TicketRow.number == (number or "").strip().upper())).first()
    if row is None:
        raise TicketNotFound(number)
    return row


def _row_by_id(connection: Connection, ticket_id: int) -> Row:
    return connection.execute(select(TicketRow).where(TicketRow.id == ticket_id)).one()


def _load(connection: Connection, row: Row) -> Ticket:
    messages = tuple(
        TicketMessage(role=m.role, text=m.text, at=from_db(m.at))
        for m in connection.execute(
            select(TicketMessageRow).where(TicketMessageRow.ticket_id == row.id).order_by(TicketMessageRow.id)
        )
    )
    return _to_ticket(row, messages)


def _to_ticket(row: Row, messages: tuple[TicketMessage, ...]) -> Ticket:
    return Ticket(
        number=row.number, sender_id=row.sender_id, channel=row.channel, reason=row.reason,
        item_code=row.item_code, item_name=row.item_name, district=row.district,
        missing_materials=tuple(row.missing_materials or ()), status=row.status, assignee=row.assignee,
        created_at=from_db(row.created_at), reply_due_at=from_db(row.reply_due_at),
        first_response_at=from_db(row.first_response_at), closed_at=from_db(row.closed_at),
        messages=messages,
    )
