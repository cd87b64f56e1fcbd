"""Many citizens at once, with real threads and connections, on SQLite and PostgreSQL.

The threads are released together by a barrier, so they really do meet at the
database: the slot's guarded count (bookings) and the partial unique index on
active tickets (tickets) are what must hold.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import func, select

from hall.errors import BookingRefused
from hall.tables import BookingRow, SlotCountRow, TicketRow
from hall.tickets import TicketDesk
from tests.hall.conftest import NOW, THURSDAY, TODAY, booking_request

BOOKERS = 100
WORKERS = 20


def _together(jobs, workers):
    """Run the callables on ``workers`` threads, each batch released at once; results or raised errors."""
    barrier = threading.Barrier(workers)

    def run(job):
        try:
            barrier.wait(timeout=60)
        except threading.BrokenBarrierError:
            pass  # the last, smaller batch: run anyway
        try:
            return job()
        except Exception as exc:  # noqa: BLE001  (collected and asserted on by the test)
            return exc

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(run, jobs))


def test_a_hundred_citizens_for_the_last_place_get_it_once(bookings, engine):
    bookings.book(**booking_request())  # capacity 2: one place left
    jobs = [
        lambda n=n: bookings.book(**booking_request(sender_id=f"web-{n}", name="并发", phone=f"139{n:08d}"))
        for n in range(BOOKERS)
    ]
    results = _together(jobs, WORKERS)
    won = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, BookingRefused)]
    others = [r for r in results if isinstance(r, Exception) and not isinstance(r, BookingRefused)]
    assert not others, others[:3]  # no "database is locked", no deadlock
    assert len(won) == 1 and len(refused) == BOOKERS - 1
    assert {r.reason for r in refused} == {"slot_full"}
    with engine.connect() as connection:
        booked = connection.scalar(select(SlotCountRow.booked).where(SlotCountRow.day == THURSDAY))
        rows = connection.scalar(select(func.count()).select_from(BookingRow))
    assert booked == 2 and rows == 2


def test_twenty_handovers_at_once_open_one_ticket(engine):
    desk = TicketDesk(engine)
    jobs = [
        lambda n=n: desk.open(
            sender_id="web-same", channel="web", reason="human", item_code=None, item_name=None, district=None,
            missing_materials=[], transcript=[("citizen", f"转人工 {n}")], now=NOW, reply_within=timedelta(minutes=30),
        )
        for n in range(WORKERS)
    ]
    results = _together(jobs, WORKERS)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({ticket.number for ticket in results}) == 1
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(TicketRow)) == 1


def test_concurrent_cancels_free_one_place(bookings, engine):
    booking = bookings.book(**booking_request())
    results = _together([lambda: bookings.cancel(booking.reference, booking.phone, NOW)] * WORKERS, WORKERS)
    assert sum(not isinstance(r, Exception) for r in results) == 1
    slots = bookings.open_slots("T-HALL-A", THURSDAY, TODAY)
    assert slots[0].left == 2


def test_twenty_identical_confirmations_at_once_make_one_booking(bookings, engine):
    """A citizen's retries racing each other (a reply lost, "确认" sent again and again) take one place."""
    results = _together([lambda: bookings.book(**booking_request())] * WORKERS, WORKERS)
    assert not [r for r in results if isinstance(r, Exception)], results[:3]
    assert len({booking.reference for booking in results}) == 1
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(BookingRow)) == 1
        assert connection.scalar(select(SlotCountRow.booked).where(SlotCountRow.day == THURSDAY)) == 1
