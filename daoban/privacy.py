"""One citizen's data, out and gone; old transcripts purged after the retention period.

What is kept about a citizen, all keyed by their ``sender_id``:

- ``chat_log``, ``ratings``, ``unanswered`` (the journal), masked when written;
- ``hall_tickets`` and ``hall_ticket_messages`` (handovers), messages masked;
- ``hall_bookings``: the one place a whole phone number is kept (the hall calls back);
- Rasa's tracker events (table ``events``): a SQLite file under ``home/rasa`` in
  embedded mode, the app's PostgreSQL database in production mode.

``export_citizen`` gathers all of it as JSON-ready data (for that citizen, so
the phone number is whole); ``delete_citizen`` removes it, our tables in one
transaction and Rasa's events after; ``purge_old_transcripts`` removes
transcripts older than the retention period (``transcript_retention_days``).

Rasa owns its tracker table, so ``RasaTrackerStore`` only reads and deletes it
with plain SQL, and treats a missing database or table as "no events yet".
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, delete, inspect, make_url, select, text, update

from daoban.settings import Settings
from hall.bookings import BOOKED
from hall.tables import BookingRow, SlotCountRow, TicketMessageRow, TicketRow, from_db, to_utc, write_transaction
from journal.tables import ChatLogRow, RatingRow, UnansweredRow

logger = logging.getLogger(__name__)

RASA_EVENTS_TABLE = "events"
PURGEABLE_TICKET_STATES = ("closed", "handed_back")  # no person is answering them any more


class RasaTrackerStore:
    """Rasa's SQL tracker store, read and pruned with plain SQL (Rasa itself is never imported).

    ``url`` is a SQLAlchemy URL. A SQLite file that does not exist yet, or a
    database without the ``events`` table (Rasa has not written to it yet),
    holds no events: reads return ``[]`` and deletes ``0``.
    """

    def __init__(self, url: str, *, table: str = RASA_EVENTS_TABLE):
        self._url = make_url(url)
        self._table = table
        self._engine: Engine | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> RasaTrackerStore:
        """Where ``processes.write_rasa_endpoints`` points Rasa: the app's PostgreSQL, or ``home/rasa/tracker.db``."""
        if settings.mode == "production":
            return cls(settings.sqlalchemy_url)
        return cls(f"sqlite:///{settings.home / 'rasa' / 'tracker.db'}")

    @property
    def url(self) -> str:
        return self._url.render_as_string(hide_password=True)

    def events(self, sender_id: str) -> list[dict[str, Any]]:
        """The sender's events, oldest first; ``data`` parsed from JSON when it is JSON."""
        query = text(
            f"SELECT id, sender_id, type_name, timestamp, intent_name, action_name, data FROM {self._table} "
            "WHERE sender_id = :sender ORDER BY timestamp, id"
        )
        with self._connection() as connection:
            if connection is None:
                return []
            return [_event(row) for row in connection.execute(query, {"sender": sender_id}).mappings()]

    def delete(self, sender_id: str) -> int:
        """Delete the sender's events; how many."""
        return self._delete(f"DELETE FROM {self._table} WHERE sender_id = :sender", {"sender": sender_id})

    def purge(self, before_epoch: float) -> int:
        """Delete every event older than ``before_epoch`` (Rasa stores ``timestamp`` as a float epoch); how many."""
        return self._delete(f"DELETE FROM {self._table} WHERE timestamp < :before", {"before": float(before_epoch)})

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _delete(self, statement: str, params: dict[str, Any]) -> int:
        with self._connection() as connection:
            if connection is None:
                return 0
            count = connection.execute(text(statement), params).rowcount
            connection.commit()
            return count

    @contextmanager
    def _connection(self) -> Iterator[Connection | None]:
        if self._url.get_backend_name() == "sqlite":
            database = self._url.database
            if not database or database == ":memory:" or not Path(database).is_file():
                yield None  # connecting would create an empty file Rasa has not made yet
                return
        if self._engine is None:
            self._engine = create_engine(self._url)
        with self._engine.connect() as connection:
            if not inspect(connection).has_table(self._table):
                yield None
                return
            yield connection


def _event(row: Any) -> dict[str, Any]:
    data = row["data"]
    try:
        data = json.loads(data) if isinstance(data, str) else data
    except ValueError:
        pass  # kept as the text it is
    return {
        "id": row["id"], "type_name": row["type_name"], "timestamp": row["timestamp"],
        "intent_name": row["intent_name"], "action_name": row["action_name"], "data": data,
    }


def _iso(moment: datetime | date | None) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return from_db(moment).isoformat()
    return moment.isoformat()


# ---- export ------------------------------------------------------------------


def export_citizen(engine: Engine, sender_id: str, rasa_tracker: RasaTrackerStore | None) -> dict[str, Any]:
    """Everything kept about ``sender_id``, JSON-serialisable (times as ISO 8601 in UTC).

    Bookings carry the whole phone number: the export goes to the citizen it is about.
    Rasa's events are included when a tracker store is given (else ``rasa_events`` is ``None``).
    """
    with engine.connect() as connection:
        messages = [
            {"id": r.id, "channel": r.channel, "role": r.role, "text": r.text, "item_code": r.item_code,
             "item_version": r.item_version, "at": _iso(r.at)}
            for r in connection.execute(select(ChatLogRow).where(ChatLogRow.sender_id == sender_id)
                                        .order_by(ChatLogRow.at, ChatLogRow.id))
        ]
        ratings = [
            {"message_id": r.message_id, "useful": r.useful, "reason": r.reason, "at": _iso(r.at)}
            for r in connection.execute(select(RatingRow).where(RatingRow.sender_id == sender_id)
                                        .order_by(RatingRow.at, RatingRow.message_id))
        ]
        unanswered = [
            {"text": r.text, "decision": r.decision, "at": _iso(r.at)}
            for r in connection.execute(select(UnansweredRow).where(UnansweredRow.sender_id == sender_id)
                                        .order_by(UnansweredRow.at, UnansweredRow.id))
        ]
        tickets = [
            _ticket(connection, r)
            for r in connection.execute(select(TicketRow).where(TicketRow.sender_id == sender_id)
                                        .order_by(TicketRow.created_at, TicketRow.id))
        ]
        bookings = [
            {"reference": r.reference, "item_code": r.item_code, "item_name": r.item_name, "hall_code": r.hall_code,
             "day": _iso(r.day), "slot_label": r.slot_label, "name": r.name, "phone": r.phone, "status": r.status,
             "created_at": _iso(r.created_at), "cancelled_at": _iso(r.cancelled_at)}
            for r in connection.execute(select(BookingRow).where(BookingRow.sender_id == sender_id)
                                        .order_by(BookingRow.created_at, BookingRow.id))
        ]
    return {
        "sender_id": sender_id,
        "messages": messages,
        "ratings": ratings,
        "unanswered": unanswered,
        "tickets": tickets,
        "bookings": bookings,
        "rasa_events": rasa_tracker.events(sender_id) if rasa_tracker is not None else None,
    }


def _ticket(connection: Connection, row: Any) -> dict[str, Any]:
    lines = connection.execute(select(TicketMessageRow).where(TicketMessageRow.ticket_id == row.id)
                               .order_by(TicketMessageRow.id))
    return {
        "number": row.number, "channel": row.channel, "reason": row.reason, "item_code": row.item_code,
        "item_name": row.item_name, "district": row.district, "missing_materials": list(row.missing_materials or ()),
        "status": row.status, "assignee": row.assignee, "created_at": _iso(row.created_at),
        "reply_due_at": _iso(row.reply_due_at), "first_response_at": _iso(row.first_response_at),
        "closed_at": _iso(row.closed_at),
        "messages": [{"role": m.role, "text": m.text, "at": _iso(m.at)} for m in lines],
    }


# ---- delete ------------------------------------------------------------------


def delete_citizen(engine: Engine, sender_id: str, rasa_tracker: RasaTrackerStore | None, *,
                   today: date | None = None) -> dict[str, int]:
    """Remove everything kept about ``sender_id``; how many rows of each kind went.

    Our tables change in one transaction: ratings before the messages they
    rate, ticket messages before their tickets, and bookings still ``booked``
    give their places back before the rows go (only those on or after
    ``today`` when it is given: a past slot's count no longer matters). Rasa's
    events are deleted afterwards (in embedded mode they live in another database).
    """
    counts: dict[str, int] = {}
    with write_transaction(engine) as connection:
        mine = select(ChatLogRow.id).where(ChatLogRow.sender_id == sender_id)
        counts["ratings"] = connection.execute(delete(RatingRow).where(
            (RatingRow.sender_id == sender_id) | RatingRow.message_id.in_(mine))).rowcount
        counts["messages"] = connection.execute(delete(ChatLogRow).where(ChatLogRow.sender_id == sender_id)).rowcount
        counts["unanswered"] = connection.execute(
            delete(UnansweredRow).where(UnansweredRow.sender_id == sender_id)).rowcount
        tickets = select(TicketRow.id).where(TicketRow.sender_id == sender_id)
        counts["ticket_messages"] = connection.execute(
            delete(TicketMessageRow).where(TicketMessageRow.ticket_id.in_(tickets))).rowcount
        counts["tickets"] = connection.execute(delete(TicketRow).where(TicketRow.sender_id == sender_id)).rowcount
        counts["places_freed"] = _free_places(connection, sender_id, today)
        counts["bookings"] = connection.execute(delete(BookingRow).where(BookingRow.sender_id == sender_id)).rowcount
    counts["rasa_events"] = rasa_tracker.delete(sender_id) if rasa_tracker is not None else 0
    return counts


def _free_places(connection: Connection, sender_id: str, today: date | None) -> int:
    """Give back the places of the sender's live bookings (as ``BookingBook.cancel`` does); how many."""
    query = select(BookingRow.hall_code, BookingRow.day, BookingRow.slot_label).where(
        BookingRow.sender_id == sender_id, BookingRow.status == BOOKED)
    if today is not None:
        query = query.where(BookingRow.day >= today)
    freed = 0
    for booking in connection.execute(query).all():
        freed += connection.execute(
            update(SlotCountRow)
            .where(SlotCountRow.hall_code == booking.hall_code, SlotCountRow.day == booking.day,
                   SlotCountRow.slot_label == booking.slot_label, SlotCountRow.booked > 0)
            .values(booked=SlotCountRow.booked - 1)
        ).rowcount
    return freed


# ---- retention ---------------------------------------------------------------


def purge_old_transcripts(engine: Engine, now: datetime, retention_days: int,
                          rasa_tracker: RasaTrackerStore | None) -> dict[str, int]:
    """Delete transcripts older than ``retention_days`` before ``now``; how many rows of each kind went.

    Journal messages (and their ratings), declined questions, the messages of
    tickets no person is working on (closed or handed back; the tickets
    themselves stay, without text), and Rasa's events. Bookings are not
    transcripts and stay.
    """
    if retention_days < 1:
        raise ValueError(f"retention_days must be >= 1, got {retention_days}")
    cutoff = to_utc(now) - timedelta(days=retention_days)
    counts: dict[str, int] = {}
    with write_transaction(engine) as connection:
        old = select(ChatLogRow.id).where(ChatLogRow.at < cutoff)
        counts["ratings"] = connection.execute(delete(RatingRow).where(RatingRow.message_id.in_(old))).rowcount
        counts["messages"] = connection.execute(delete(ChatLogRow).where(ChatLogRow.at < cutoff)).rowcount
        counts["unanswered"] = connection.execute(delete(UnansweredRow).where(UnansweredRow.at < cutoff)).rowcount
        finished = select(TicketRow.id).where(TicketRow.status.in_(PURGEABLE_TICKET_STATES))
        counts["ticket_messages"] = connection.execute(delete(TicketMessageRow).where(
            TicketMessageRow.ticket_id.in_(finished), TicketMessageRow.at < cutoff)).rowcount
    counts["rasa_events"] = rasa_tracker.purge(cutoff.timestamp()) if rasa_tracker is not None else 0
    return counts

