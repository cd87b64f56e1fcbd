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
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, Row, insert, select, update
from sqlalchemy.exc import IntegrityError

from hall.dates import format_day
from hall.errors import BookingAlreadyCancelled, BookingNotFound, BookingRefused, HallDataError, HallNotFound
from hall.halls import Hall, TimeSlot
from hall.privacy import is_mainland_mobile, mask_phone, normalise_phone
from hall.tables import (
    BOOKING_REPEAT_KEY,
    BookingRow,
    HallRow,
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


def new_reference() -> str:
    """"YY" and six characters from a 32-letter alphabet: about 10⁹ possibilities, unguessable in practice."""
    return readable_code(REFERENCE_PREFIX, 6)


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

    def __init__(self, engine: Engine, *, references: Callable[[], str] = new_reference, attempts: int = 5):
        if attempts < 1:
            raise ValueError(f"attempts must be >= 1, got {attempts}")
        self._engine = engine
        self._references = references
        self._attempts = attempts

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

    def find(self, reference: str, phone: str) -> Booking:
        with self._engine.connect() as connection:
            return _to_booking(connection, _matching_row(connection, reference, phone))

    def held_by(self, reference: str, sender_id: str) -> Booking:
        """The booking ``sender_id`` made under ``reference``: a conversation's own booking needs no phone to be
        found again; anyone else's is ``BookingNotFound``, exactly like a wrong reference."""
        with self._engine.connect() as connection:
            row = connection.execute(select(BookingRow).where(
                BookingRow.reference == (reference or "").strip().upper(), BookingRow.sender_id == sender_id,
            )).first()
            if row is None:
                raise BookingNotFound()
            return _to_booking(connection, row)

    def cancel(self, reference: str, phone: str, now: datetime) -> Booking:
        """Cancel and give the place back, in one transaction; a second cancel raises ``BookingAlreadyCancelled``."""
        stamp = to_utc(now)
        with write_transaction(self._engine) as connection:
            row = _matching_row(connection, reference, phone)
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
            booking = _to_booking(connection, _matching_row(connection, reference, phone))
        logger.info("cancelled booking %s", booking.reference)
        return booking


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


def _matching_row(connection: Connection, reference: str, phone: str) -> Row:
    """The booking row for reference and phone; ``BookingNotFound`` whichever of the two is wrong."""
    row = connection.execute(
        select(BookingRow).where(BookingRow.reference == (reference or "").strip().upper())
    ).first()
    given = normalise_phone(phone).encode()
    # compared in constant time, and against a dummy when there is no row, so timing tells nothing either
    stored = row.phone.encode() if row is not None else b"\x00" * max(len(given), 1)
    if not hmac.compare_digest(stored, given) or row is None:
        raise BookingNotFound()
    return row


def _to_booking(connection: Connection, row: Row) -> Booking:
    hall_row = connection.execute(select(HallRow).where(HallRow.code == row.hall_code)).first()
    hall_name = _hall_from_row(hall_row).name if hall_row is not None else row.hall_code
    return Booking(
        reference=row.reference, sender_id=row.sender_id, item_code=row.item_code, item_name=row.item_name,
        hall_code=row.hall_code, hall_name=hall_name, day=row.day, slot_label=row.slot_label, name=row.name,
        phone=row.phone, status=row.status, created_at=from_db(row.created_at),
        cancelled_at=from_db(row.cancelled_at),
    )
