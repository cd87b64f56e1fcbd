"""Appointments at a service hall (预约): free places per slot, booking, finding and cancelling.

A place is taken in one transaction that both bumps the slot's count with a
guarded ``UPDATE … SET booked = booked + 1 WHERE booked < capacity`` and writes
the booking. The guard is what the database serialises: on PostgreSQL the row
lock makes concurrent bookers queue and re-check ``booked < capacity``; on
SQLite ``BEGIN IMMEDIATE`` (``write_transaction``) queues whole transactions.
Either way a slot is never overbooked and a refused booker learns ``slot_full``.

Confirming the same booking again (same citizen, item, hall, slot, name and
phone; a retry after a lost reply) returns the booking already made rather than
taking a second place.

Every rule is checked before anything is written, and a broken rule raises
``BookingRefused`` with a stable ``reason`` and a sentence for the citizen.
A booking is found again only with its reference *and* the phone number it was
made with, and a mismatch says nothing about which was wrong.

The phone is shown masked (139****5670), so a reference seen elsewhere leaves
four digits to guess. Every look-up by reference and phone that matches nothing
is written to ``hall_lookup_failures``, and a reference with too many recent
failures (``LOOKUP_LIMITS``) is refused, right phone or not, with
``BookingLocked``. The count is in the database because the action server runs
several workers and a guesser can start a new conversation for every try. The
conversation that made the booking is never locked out: its sender id is the
proof of ownership a phone number stands in for elsewhere, and a stranger who
locks a reference must not keep its owner from their own booking.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, Row, case, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from hall.dates import format_day
from hall.errors import (
    BookingAlreadyCancelled,
    BookingLocked,
    BookingNotFound,
    BookingRefused,
    HallDataError,
    HallError,
    HallNotFound,
)
from hall.halls import Hall, TimeSlot
from hall.privacy import is_mainland_mobile, mask_phone, normalise_phone
from hall.tables import (
    BOOKING_REPEAT_KEY,
    READABLE_ALPHABET,
    BookingRow,
    HallRow,
    LookupFailureRow,
    SlotCountRow,
    from_db,
    readable_code,
    to_utc,
    upsert_insert,
    write_transaction,
)

logger = logging.getLogger(__name__)

BOOKED = "booked"
CANCELLED = "cancelled"
MAX_NAME_LENGTH = 30
REFERENCE_PREFIX = "YY"  # 预约
REFERENCE_LENGTH = 10  # characters after the prefix
LEGACY_REFERENCE_LENGTH = 6  # references made before December 2026; their bookings are still found
_ALPHABET = f"[{re.escape(READABLE_ALPHABET)}]"
# A reference in a citizen's text, either length. A new one is not followed by another character of the alphabet
# (a phone typed right after it starts with 1, which is not one); an old one is taken as before.
REFERENCE_PATTERN = re.compile(
    rf"{REFERENCE_PREFIX}(?:{_ALPHABET}{{{REFERENCE_LENGTH}}}(?!{_ALPHABET})|[0-9A-Z]{{{LEGACY_REFERENCE_LENGTH}}})",
    re.IGNORECASE,
)
_REFERENCE_SHAPE = re.compile(rf"{REFERENCE_PREFIX}[0-9A-Z]{{{LEGACY_REFERENCE_LENGTH},14}}")


@dataclass(frozen=True)
class LookupLimit:
    """``failures`` failed look-ups of one reference within ``within`` lock it for ``lock_for`` after the last one."""

    failures: int
    within: timedelta
    lock_for: timedelta


# A citizen who mistypes a few times waits half an hour; a guesser who waits out every lock gets ten tries a day,
# about 1.4 % of the 10 000 phones a masked number leaves over a booking's 14 days.
LOOKUP_LIMITS = (
    LookupLimit(failures=5, within=timedelta(minutes=15), lock_for=timedelta(minutes=30)),
    LookupLimit(failures=10, within=timedelta(hours=24), lock_for=timedelta(hours=24)),
)


def new_reference() -> str:
    """"YY" and ten characters from a 32-letter alphabet: about 10¹⁵ possibilities, so a reference cannot be
    guessed, only learnt from its owner (the phone check and the lock guard the rest)."""
    return readable_code(REFERENCE_PREFIX, REFERENCE_LENGTH)


def normalise_reference(reference: str | None) -> str:
    """A reference as stored: upper case, without the spaces or dashes a citizen may type inside it."""
    return "".join((reference or "").split()).replace("-", "").upper()


def locked_until(failed_at: list[datetime], limits: tuple[LookupLimit, ...] = LOOKUP_LIMITS) -> datetime | None:
    """When the lock these failures (oldest first) put on a reference ends; ``None`` if they put none.

    Every run of ``failures`` failures within ``within`` locks until ``lock_for`` after its last one, so
    the answer does not depend on when it is asked, only whether that is before the end.
    """
    ends = [
        failed_at[last] + limit.lock_for
        for limit in limits
        for last in range(limit.failures - 1, len(failed_at))
        if failed_at[last] - failed_at[last - limit.failures + 1] <= limit.within
    ]
    return max(ends, default=None)


@dataclass(frozen=True)
class SlotAvailability:
    slot: TimeSlot
    capacity: int
    left: int

    @property
    def full(self) -> bool:
        return self.left <= 0


@dataclass(frozen=True)
class Booking:
    reference: str
    sender_id: str
    item_code: str
    item_name: str
    hall_code: str
    hall_name: str
    day: date
    slot_label: str
    name: str
    phone: str
    status: str
    created_at: datetime
    cancelled_at: datetime | None

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def cancelled(self) -> bool:
        return self.status == CANCELLED

    def describe(self) -> str:
        """``"11月25日（周三）09:00-10:00，青山区政务服务中心，居住证申领"``: what the citizen booked, in one line."""
        return f"{format_day(self.day)}{self.slot_label}，{self.hall_name}，{self.item_name}"


def _refuse_day(hall: Hall, day: date, today: date) -> None:
    if day < today:
        raise BookingRefused("past_date", "这一天已经过去了，请选择今天或以后的日期。")
    last = today + timedelta(days=hall.booking_horizon_days)
    if day > last:
        raise BookingRefused(
            "too_far_ahead",
            f"目前只能预约{hall.booking_horizon_days}天以内的时段，请选择{format_day(last)}或之前的日期。",
        )
    if day in hall.closed_dates:
        raise BookingRefused("hall_closed", f"{format_day(day)}是法定节假日，{hall.name}不办公，请换一个工作日。")
    if not hall.is_open(day):
        raise BookingRefused("hall_closed", f"{hall.name}{format_day(day)}不办公，请换一个工作日。")


def _offered_slot(hall: Hall, day: date, slot_label: str) -> TimeSlot:
    try:
        wanted = TimeSlot.parse(slot_label).label
    except ValidationError:
        wanted = None
    for slot in hall.slots_on(day):
        if slot.label == wanted:
            return slot
    raise BookingRefused("no_such_slot", "这一天没有这个时段，请从可预约的时段中选择。")


def _clean_name(name: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned or len(cleaned) > MAX_NAME_LENGTH or any(char.isdigit() for char in cleaned):
        raise BookingRefused("invalid_name", f"请告诉我办事人的姓名（{MAX_NAME_LENGTH}个字以内，不含数字）。")
    return cleaned


def _clean_phone(phone: str) -> str:
    number = normalise_phone(phone)
    if not is_mainland_mobile(number):
        raise BookingRefused("invalid_phone", "手机号码格式不对，请输入11位手机号码。")
    return number


class BookingBook:
    """The appointment book of every hall in one database."""

    def __init__(
        self, engine: Engine, *, references: Callable[[], str] = new_reference, attempts: int = 5,
        lookup_limits: tuple[LookupLimit, ...] = LOOKUP_LIMITS, clock: Callable[[], datetime] | None = None,
    ):
        if attempts < 1:
            raise ValueError(f"attempts must be >= 1, got {attempts}")
        if any(limit.failures < 1 for limit in lookup_limits):
            raise ValueError("a lookup limit needs at least one failure")
        self._engine = engine
        self._references = references
        self._attempts = attempts
        self._limits = lookup_limits
        self._clock = clock or (lambda: datetime.now(timezone.utc))

    # ---- halls ---------------------------------------------------------------

    def halls(self) -> list[Hall]:
        with self._engine.connect() as connection:
            return [_hall_from_row(row) for row in connection.execute(select(HallRow).order_by(HallRow.code))]

    def hall(self, code: str) -> Hall:
        with self._engine.connect() as connection:
            return _hall(connection, code)

    def halls_in(self, district: str) -> list[Hall]:
        return [hall for hall in self.halls() if hall.district == district]

    # ---- places --------------------------------------------------------------

    def open_slots(self, hall_code: str, day: date, today: date) -> list[SlotAvailability]:
        """Every slot the hall offers on ``day`` with its places left (full ones too, with ``left == 0``).

        A day that cannot be booked raises the same ``BookingRefused`` as ``book``
        would, so the bot can say why instead of showing an empty list.
        """
        with self._engine.connect() as connection:
            hall = _hall(connection, hall_code)
            _refuse_day(hall, day, today)
            counts = {
                row.slot_label: row
                for row in connection.execute(
                    select(SlotCountRow).where(SlotCountRow.hall_code == hall.code, SlotCountRow.day == day)
                )
            }
        result = []
        for slot in hall.slots_on(day):
            row = counts.get(slot.label)
            capacity = row.capacity if row is not None else hall.capacity_per_slot
            booked = row.booked if row is not None else 0
            result.append(SlotAvailability(slot=slot, capacity=capacity, left=max(capacity - booked, 0)))
        return result

    def book(
        self, *, sender_id: str, item_code: str, item_name: str, hall_code: str, day: date, slot_label: str,
        name: str, phone: str, today: date, now: datetime | None = None,
    ) -> Booking:
        """Take a place, or raise ``BookingRefused`` (nothing written) / ``HallNotFound``.

        ``created_at`` is ``now`` when given, else the start of ``today`` in UTC.
        """
        hall = self.hall(hall_code)
        if not hall.offers(item_code):
            raise BookingRefused("item_not_offered", f"{hall.name}暂不受理“{item_name}”的预约，请换一个大厅。")
        _refuse_day(hall, day, today)
        slot = _offered_slot(hall, day, slot_label)
        clean_name, clean_phone = _clean_name(name), _clean_phone(phone)
        created = to_utc(now) if now is not None else datetime.combine(today, time.min, tzinfo=timezone.utc)
        values = dict(
            sender_id=sender_id, item_code=item_code, item_name=item_name, hall_code=hall.code, day=day,
            slot_label=slot.label, name=clean_name, phone=clean_phone, status=BOOKED, created_at=created,
            cancelled_at=None,
        )
        for attempt in range(1, self._attempts + 1):
            reference = self._references()
            try:
                with write_transaction(self._engine) as connection:
                    repeated = _same_booking(connection, values)
                    if repeated is not None:
                        # the citizen confirmed again after a reply that never reached them: same booking
                        logger.info("repeated confirmation: returning booking %s", repeated.reference)
                        return _to_booking(connection, repeated)
                    self._take_place(connection, hall, day, slot)
                    connection.execute(insert(BookingRow).values(reference=reference, **values))
            except IntegrityError:
                # a reference collision (draw another), or the same confirmation committed by a concurrent
                # request (the next attempt finds and returns it)
                logger.warning("booking insert collided (attempt %d of %d)", attempt, self._attempts)
                if attempt == self._attempts:
                    raise
                continue
            logger.info("booked %s: hall %s, %s %s", reference, hall.code, day.isoformat(), slot.label)
            return Booking(reference=reference, hall_name=hall.name, **values)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _take_place(connection: Connection, hall: Hall, day: date, slot: TimeSlot) -> None:
        where = (SlotCountRow.hall_code == hall.code, SlotCountRow.day == day, SlotCountRow.slot_label == slot.label)
        connection.execute(
            upsert_insert(connection)(SlotCountRow)
            .values(hall_code=hall.code, day=day, slot_label=slot.label, capacity=hall.capacity_per_slot, booked=0)
            .on_conflict_do_nothing()
        )
        taken = connection.execute(
            update(SlotCountRow).where(*where, SlotCountRow.booked < SlotCountRow.capacity)
            .values(booked=SlotCountRow.booked + 1)
        )
        if taken.rowcount != 1:
            raise BookingRefused("slot_full", "该时段已约满，请换一个时段。")

    # ---- finding and cancelling --------------------------------------------

    def find(self, reference: str, phone: str, *, sender_id: str | None = None, now: datetime | None = None) -> Booking:
        """The booking with this reference and phone; ``BookingNotFound`` (counted) or ``BookingLocked``.

        ``sender_id`` is the conversation asking: the one that made the booking is never locked out and
        its mistakes are not counted. ``now`` defaults to the book's clock.
        """
        with write_transaction(self._engine) as connection:
            admitted = self._admit(connection, reference, phone, sender_id, self._now(now))
            if not isinstance(admitted, HallError):
                return _to_booking(connection, admitted)
        raise admitted  # after the commit: the failure it counted stays counted

    def held_by(self, reference: str, sender_id: str) -> Booking:
        """The booking ``sender_id`` made under ``reference``: a conversation's own booking needs no phone to be
        found again; anyone else's is ``BookingNotFound``, exactly like a wrong reference."""
        with self._engine.connect() as connection:
            row = connection.execute(select(BookingRow).where(
                BookingRow.reference == normalise_reference(reference), BookingRow.sender_id == sender_id,
            )).first()
            if row is None:
                raise BookingNotFound()
            return _to_booking(connection, row)

    def latest_of(self, sender_id: str) -> Booking | None:
        """The latest booking ``sender_id`` made that is still booked, else their latest cancelled one.

        What "查询预约" shows in the conversation that booked when no reference is given, so a citizen
        always gets their booking back, even when the reply that named it was lost. The sender id is the
        proof of ownership, as for ``held_by``.
        """
        if not sender_id:
            return None
        with self._engine.connect() as connection:
            row = connection.execute(
                select(BookingRow).where(BookingRow.sender_id == sender_id)
                .order_by(case((BookingRow.status == BOOKED, 0), else_=1), BookingRow.created_at.desc(),
                          BookingRow.id.desc())
                .limit(1)
            ).first()
            return _to_booking(connection, row) if row is not None else None

    def cancel(self, reference: str, phone: str, now: datetime, *, sender_id: str | None = None) -> Booking:
        """Cancel and give the place back, in one transaction; a second cancel raises ``BookingAlreadyCancelled``.

        Found as ``find`` finds: a wrong phone is ``BookingNotFound`` (counted), a locked reference ``BookingLocked``.
        """
        booking = self._cancelled(reference, phone, to_utc(now), sender_id)
        logger.info("cancelled booking %s", booking.reference)
        return booking

    def _cancelled(self, reference: str, phone: str, stamp: datetime, sender_id: str | None) -> Booking:
        with write_transaction(self._engine) as connection:
            admitted = self._admit(connection, reference, phone, sender_id, stamp)
            if not isinstance(admitted, HallError):
                return self._cancel_row(connection, admitted, stamp)
        raise admitted  # after the commit, as in find

    @staticmethod
    def _cancel_row(connection: Connection, row: Row, stamp: datetime) -> Booking:
        changed = connection.execute(
            update(BookingRow).where(BookingRow.id == row.id, BookingRow.status == BOOKED)
            .values(status=CANCELLED, cancelled_at=stamp)
        )
        if changed.rowcount != 1:
            raise BookingAlreadyCancelled(row.reference)
        connection.execute(
            update(SlotCountRow)
            .where(
                SlotCountRow.hall_code == row.hall_code, SlotCountRow.day == row.day,
                SlotCountRow.slot_label == row.slot_label, SlotCountRow.booked > 0,
            )
            .values(booked=SlotCountRow.booked - 1)
        )
        return _to_booking(connection, connection.execute(select(BookingRow).where(BookingRow.id == row.id)).one())

    # ---- the lock on guessing ------------------------------------------------

    def _now(self, now: datetime | None) -> datetime:
        return to_utc(now if now is not None else self._clock())

    def _admit(
        self, connection: Connection, reference: str, phone: str, sender_id: str | None, now: datetime,
    ) -> Row | HallError:
        """The booking row, or the error to raise once this transaction (and the failure it wrote) is committed.

        The row is read ``FOR UPDATE``: on PostgreSQL two workers checking the same reference queue, so a
        burst of guesses cannot all read the count before any is written (SQLite's ``BEGIN IMMEDIATE``
        already queues them). What does not look like a reference is not counted: it names nothing to lock.
        """
        wanted = normalise_reference(reference)
        if not _REFERENCE_SHAPE.fullmatch(wanted):
            return BookingNotFound()
        row = connection.execute(select(BookingRow).where(BookingRow.reference == wanted).with_for_update()).first()
        if row is not None and sender_id is not None and row.sender_id == sender_id:
            return row if _phone_matches(row, phone) else BookingNotFound()
        until = self._locked_until(connection, wanted, now)
        if until is not None:
            logger.info("look-up of locked booking reference %s refused (until %s)", wanted, until.isoformat())
            return _locked(connection, wanted, row, until)
        if _phone_matches(row, phone):
            return row
        self._count_failure(connection, wanted, now)
        return BookingNotFound()

    def _horizon(self) -> timedelta:
        """How far back a failure can still matter: a run within ``within`` locks ``lock_for`` after its end."""
        return max((limit.within + limit.lock_for for limit in self._limits), default=timedelta(0))

    def _failures(self, connection: Connection, reference: str, now: datetime) -> list[datetime]:
        return [
            from_db(moment)
            for moment in connection.execute(
                select(LookupFailureRow.failed_at)
                .where(LookupFailureRow.reference == reference, LookupFailureRow.failed_at >= now - self._horizon())
                .order_by(LookupFailureRow.failed_at, LookupFailureRow.id)
            ).scalars()
        ]

    def _locked_until(self, connection: Connection, reference: str, now: datetime) -> datetime | None:
        until = locked_until(self._failures(connection, reference, now), self._limits)
        return until if until is not None and until > now else None

    def _count_failure(self, connection: Connection, reference: str, now: datetime) -> None:
        """Write the failure, delete those too old to matter, and say so in the log if it locks the reference.

        Old rows another worker is deleting right now are skipped (``SKIP LOCKED`` on PostgreSQL), so two
        workers pruning at once neither wait for nor deadlock on each other; the next failure gets them.
        """
        old = (select(LookupFailureRow.id).where(LookupFailureRow.failed_at < now - self._horizon())
               .with_for_update(skip_locked=True))
        connection.execute(delete(LookupFailureRow).where(LookupFailureRow.id.in_(old)))
        connection.execute(insert(LookupFailureRow).values(reference=reference, failed_at=now))
        until = self._locked_until(connection, reference, now)
        if until is not None:
            logger.warning("booking reference %s locked until %s after repeated failed look-ups",
                           reference, until.isoformat())


def _hall_from_row(row: HallRow) -> Hall:
    try:
        return Hall.from_json(row.data)
    except ValidationError as exc:
        raise HallDataError(f"stored hall {row.code!r} does not validate: {exc}") from exc


def _hall(connection: Connection, code: str) -> Hall:
    row = connection.execute(select(HallRow).where(HallRow.code == code)).first()
    if row is None:
        raise HallNotFound(code)
    return _hall_from_row(row)


def _same_booking(connection: Connection, values: dict) -> Row | None:
    """The booked appointment these exact booking values already made, if any."""
    same = (getattr(BookingRow, column) == values[column] for column in BOOKING_REPEAT_KEY)
    return connection.execute(select(BookingRow).where(BookingRow.status == BOOKED, *same)).first()


def _phone_matches(row: Row | None, phone: str) -> bool:
    """Whether ``phone`` is the booking's; ``False`` for no booking, so a wrong reference reads as a wrong phone."""
    given = normalise_phone(phone or "").encode()
    # compared in constant time, and against a dummy when there is no row, so timing tells nothing either
    stored = row.phone.encode() if row is not None else b"\x00" * max(len(given), 1)
    return hmac.compare_digest(stored, given) and row is not None


def _locked(connection: Connection, reference: str, row: Row | None, until: datetime) -> BookingLocked:
    """The lock, naming the booking's hall and its phone when the reference is a booking's (whom to call)."""
    hall_row = connection.execute(select(HallRow).where(HallRow.code == row.hall_code)).first() if row else None
    if hall_row is None:
        return BookingLocked(reference, until)
    hall = _hall_from_row(hall_row)
    return BookingLocked(reference, until, hall_name=hall.name, hall_phone=hall.phone)


def _to_booking(connection: Connection, row: Row) -> Booking:
    hall_row = connection.execute(select(HallRow).where(HallRow.code == row.hall_code)).first()
    hall_name = _hall_from_row(hall_row).name if hall_row is not None else row.hall_code
    return Booking(
        reference=row.reference, sender_id=row.sender_id, item_code=row.item_code, item_name=row.item_name,
        hall_code=row.hall_code, hall_name=hall_name, day=row.day, slot_label=row.slot_label, name=row.name,
        phone=row.phone, status=row.status, created_at=from_db(row.created_at),
        cancelled_at=from_db(row.cancelled_at),
    )
