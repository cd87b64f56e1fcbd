"""Database tables of the service hall's own data, and the write transaction they are changed in.

The hall tables share the database (and the Alembic chain, migration 0003) with
the knowledge base but not its ``DeclarativeBase``: nothing here is read by
retrieval, and the knowledge package never has to know these tables exist.

Places are counted, not derived: ``hall_slot_counts.booked`` is changed with a
guarded ``UPDATE … SET booked = booked + 1 WHERE booked < capacity`` in the same
transaction as the booking row, which is what keeps a slot from being
overbooked when many citizens book its last place at once (see bookings.py).

A booking confirmed twice by the same citizen (same item, hall, slot, name and
phone) is one booking: a partial unique index over the booked ones says so.

A look-up of a booking by reference and phone that matches nothing is a row
of ``hall_lookup_failures`` (migration 0008): the count that locks a reference
is in the database so that every action server worker sees the same one.

At most one ticket per citizen is active (waiting or taken): a partial unique
index says so, so a handover retried at the same moment can never open two.

Times are stored in UTC. SQLite keeps no offset, so every value goes in as UTC
(``to_utc``) and comes back marked as UTC (``from_db``) on both back ends.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone

from sqlalchemy import (
    JSON,
    Connection,
    Date,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.dml import Insert

ACTIVE_TICKET_STATES = ("waiting", "taken")
# read aloud and typed back by citizens: no 0/O, 1/I to confuse
READABLE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_ACTIVE_WHERE = text("status IN ('waiting', 'taken')")
_BOOKED_WHERE = text("status = 'booked'")


class Base(DeclarativeBase):
    pass


class HallRow(Base):
    """A hall as validated JSON (``Hall.to_json``); the code is all that is queried."""

    __tablename__ = "hall_halls"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SlotCountRow(Base):
    """Places taken in one slot of one day; created on the first booking of that slot.

    ``capacity`` is copied from the hall then, so changing a hall's capacity
    later never strands bookings already made.
    """

    __tablename__ = "hall_slot_counts"
    __table_args__ = (UniqueConstraint("hall_code", "day", "slot_label", name="uq_hall_slot_counts_slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hall_code: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    slot_label: Mapped[str] = mapped_column(String(16))
    capacity: Mapped[int] = mapped_column(Integer)
    booked: Mapped[int] = mapped_column(Integer)


class BookingRow(Base):
    """One appointment. ``phone`` is kept whole (the hall calls back) and shown masked everywhere else."""

    __tablename__ = "hall_bookings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True, index=True)
    sender_id: Mapped[str] = mapped_column(String(200), index=True)
    item_code: Mapped[str] = mapped_column(String(64))
    item_name: Mapped[str] = mapped_column(String(400))
    hall_code: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    slot_label: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


Index("ix_hall_bookings_hall_day", BookingRow.hall_code, BookingRow.day)
# The same citizen confirming the same booking twice (a retry after a lost reply, a worker killed after the
# commit) gets one booking: BookingBook.book returns the existing one, and this index holds under a race.
BOOKING_REPEAT_KEY = ("sender_id", "item_code", "hall_code", "day", "slot_label", "name", "phone")
Index(
    "uq_hall_bookings_repeat", *(getattr(BookingRow, column) for column in BOOKING_REPEAT_KEY), unique=True,
    sqlite_where=_BOOKED_WHERE, postgresql_where=_BOOKED_WHERE,
)


class LookupFailureRow(Base):
    """A look-up by reference and phone that matched nothing: a wrong phone, or no booking with that reference.

    Counted per reference to lock it against guessing the phone (``BookingBook``); rows older than the
    longest lock's horizon are deleted whenever a new one is written, so the table stays small.
    """

    __tablename__ = "hall_lookup_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), index=True)
    failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class TicketRow(Base):
    """A handover to the hall's staff (人工), from waiting to closed."""

    __tablename__ = "hall_tickets"
    __table_args__ = (
        Index(
            "uq_hall_tickets_active_sender", "sender_id", unique=True,
            sqlite_where=_ACTIVE_WHERE, postgresql_where=_ACTIVE_WHERE,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True, index=True)
    sender_id: Mapped[str] = mapped_column(String(200), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(32))
    item_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    item_name: Mapped[str | None] = mapped_column(String(400), nullable=True)
    district: Mapped[str | None] = mapped_column(String(64), nullable=True)
    missing_materials: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    assignee: Mapped[str | None] = mapped_column(String(120), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reply_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_response_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class TicketMessageRow(Base):
    """One line of a ticket's conversation; ``text`` is always masked (privacy.mask_text) before it gets here."""

    __tablename__ = "hall_ticket_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("hall_tickets.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that writes; committed when the block ends, rolled back when it raises.

    On SQLite the write lock is taken at ``BEGIN IMMEDIATE``: a deferred
    transaction that reads first and then writes fails at once with "database is
    locked" when another writer got in between (the busy timeout cannot help a
    read lock that must become a write lock). Taking the lock up front makes
    writers queue on the busy timeout instead. PostgreSQL needs nothing special:
    the guarded updates and unique indexes serialise what must be serialised.
    """
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.rollback()
            raise
        connection.commit()


def to_utc(moment: datetime) -> datetime:
    """An aware datetime in UTC; a naive one is refused (its meaning depends on the machine)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is needed, got {moment!r}")
    return moment.astimezone(timezone.utc)


def from_db(moment: datetime | None) -> datetime | None:
    """A stored time as aware UTC (SQLite returns it naive, PostgreSQL in the session's zone)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def readable_code(prefix: str, length: int) -> str:
    """An unguessable identifier a citizen can read out: ``readable_code("YY", 10)`` → ``"YY7KQ3MX4PZA"``.

    Each character is one of 32 (``READABLE_ALPHABET``), drawn with ``secrets``: ``length`` characters are
    ``5 × length`` bits of chance for whoever guesses.
    """
    return prefix + "".join(secrets.choice(READABLE_ALPHABET) for _ in range(length))


def upsert_insert(connection: Connection) -> Callable[..., Insert]:
    """The dialect's ``insert`` that has ``on_conflict_do_nothing`` / ``on_conflict_do_update``.

    SQLite and PostgreSQL spell ``INSERT … ON CONFLICT`` the same way, so the
    race "two writers create the same row" is settled by the database on both.
    """
    dialects = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
    try:
        return dialects[connection.dialect.name]
    except KeyError:
        raise NotImplementedError(f"hall tables run on SQLite or PostgreSQL, not {connection.dialect.name}") from None
