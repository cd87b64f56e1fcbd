"""A reference whose look-ups by phone fail too often is locked, for every worker, on SQLite and PostgreSQL.

A tester matched a known reference and its masked phone (139****5670) in 51 tries,
each from a new conversation. These tests play that attack and the citizen's side
of the lock: the owner's own conversation, the right phone after the lock ends.
"""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from hall.bookings import LOOKUP_LIMITS, BookingBook, LookupLimit, locked_until
from hall.errors import BookingLocked, BookingNotFound
from hall.tables import LookupFailureRow
from knowledge.database import make_engine
from tests.hall.conftest import NOW, booking_request
from tests.hall.test_concurrency import _together

PHONE = "13912345670"  # shown as 139****5670
WRONG = "13900001111"


def _book(bookings: BookingBook):
    return bookings.book(**booking_request(phone=PHONE))


def _fail(bookings: BookingBook, reference: str, times: int, start: datetime = NOW, every=timedelta(seconds=20)):
    for attempt in range(times):
        with pytest.raises(BookingNotFound):
            bookings.find(reference, WRONG, sender_id=f"guesser-{attempt}", now=start + attempt * every)


def _failures(engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(LookupFailureRow))


def test_the_testers_attack_gets_five_tries_and_then_not_even_the_right_phone(bookings):
    """Every completion of 139****5670 in turn, a fresh conversation each, three a second: the 51st is right."""
    booking = _book(bookings)
    tried = [f"139{n:04d}5670" for n in range(1300, 1350)] + [PHONE]
    answers = []
    for attempt, phone in enumerate(tried):
        try:
            moment = NOW + attempt * timedelta(seconds=0.3)
            bookings.find(booking.reference, phone, sender_id=f"attacker-{attempt}", now=moment)
            answers.append("found")
        except BookingNotFound:
            answers.append("not found")
        except BookingLocked as locked:
            answers.append("locked")
            assert (locked.hall_name, locked.hall_phone) == ("测试区政务服务中心", "0799-80000000")
    assert answers == ["not found"] * 5 + ["locked"] * 46


def test_the_lock_refuses_the_right_phone_and_cancelling_until_it_ends(bookings):
    booking = _book(bookings)
    _fail(bookings, booking.reference, 5)
    fifth = NOW + 4 * timedelta(seconds=20)
    with pytest.raises(BookingLocked) as locked:
        bookings.find(booking.reference, PHONE, sender_id="someone", now=fifth + timedelta(minutes=29))
    assert locked.value.until == fifth + timedelta(minutes=30)
    with pytest.raises(BookingLocked):
        bookings.cancel(booking.reference, PHONE, fifth + timedelta(minutes=29), sender_id="someone")
    assert not bookings.held_by(booking.reference, "web-1").cancelled
    assert bookings.find(booking.reference, PHONE, sender_id="someone", now=fifth + timedelta(minutes=30)) == booking


def test_failures_spread_over_more_than_fifteen_minutes_do_not_lock(bookings):
    booking = _book(bookings)
    _fail(bookings, booking.reference, 4)
    _fail(bookings, booking.reference, 1, start=NOW + timedelta(minutes=16))
    assert bookings.find(booking.reference, PHONE, now=NOW + timedelta(minutes=17)) == booking


def test_the_count_is_shared_by_every_worker(bookings, engine, database_url):
    """Two books on two engines (two action server processes) lock the reference together."""
    booking = _book(bookings)
    other_engine = make_engine(database_url)
    try:
        other = BookingBook(other_engine)
        for attempt in range(5):
            with pytest.raises(BookingNotFound):
                (bookings, other)[attempt % 2].find(booking.reference, WRONG, now=NOW)
        with pytest.raises(BookingLocked):
            other.find(booking.reference, PHONE, now=NOW)
    finally:
        other_engine.dispose()


def test_guesses_sent_all_at_once_still_get_only_five_phone_checks(bookings):
    """Twenty workers released together: the booking row is read FOR UPDATE, so none reads a stale count."""
    booking = _book(bookings)
    jobs = [lambda n=n: bookings.find(booking.reference, f"1390000{n:04d}", sender_id=f"g-{n}", now=NOW)
            for n in range(40)]
    results = _together(jobs, 20)
    assert sum(isinstance(r, BookingNotFound) for r in results) == 5
    assert sum(isinstance(r, BookingLocked) for r in results) == 35


def test_the_conversation_that_booked_is_never_locked_out(bookings, engine):
    booking = _book(bookings)
    _fail(bookings, booking.reference, 5)
    assert bookings.find(booking.reference, PHONE, sender_id="web-1", now=NOW + timedelta(minutes=2)) == booking
    assert bookings.held_by(booking.reference, "web-1") == booking
    assert bookings.latest_of("web-1") == booking
    # and its own mistakes are not counted
    before = _failures(engine)
    with pytest.raises(BookingNotFound):
        bookings.find(booking.reference, WRONG, sender_id="web-1", now=NOW)
    assert _failures(engine) == before
    assert bookings.cancel(booking.reference, PHONE, NOW + timedelta(minutes=3), sender_id="web-1").cancelled


def test_an_unknown_reference_answers_like_a_wrong_phone_and_locks_alike_but_names_no_hall(bookings):
    booking = _book(bookings)
    unknown = "YY" + "Z" * 10
    for reference in (booking.reference, unknown):
        with pytest.raises(BookingNotFound) as not_found:
            bookings.find(reference, WRONG, now=NOW)
        assert str(not_found.value) == "no booking matches this reference and phone number"
    _fail(bookings, unknown, 4, start=NOW + timedelta(seconds=1))
    with pytest.raises(BookingLocked) as locked:
        bookings.find(unknown, PHONE, now=NOW + timedelta(minutes=2))
    assert locked.value.hall_name is None and locked.value.hall_phone is None


def test_text_that_is_no_reference_is_not_counted(bookings, engine):
    for junk in ("", "我不记得了", "YY12", "YY" + "A" * 30):
        with pytest.raises(BookingNotFound):
            bookings.find(junk, WRONG, now=NOW)
    assert _failures(engine) == 0


def test_failures_too_old_to_matter_are_deleted(bookings, engine):
    booking = _book(bookings)
    _fail(bookings, booking.reference, 3)
    _fail(bookings, "YY" + "Q" * 10, 1, start=NOW + timedelta(days=3))
    assert _failures(engine) == 1


# ---- the windows, without a database --------------------------------------------------------------------------------

T0 = datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)


def _at(*minutes: float) -> list[datetime]:
    return [T0 + timedelta(minutes=m) for m in minutes]


def test_five_within_fifteen_minutes_lock_for_thirty_after_the_fifth():
    assert locked_until(_at(0, 1, 2, 3, 14)) == T0 + timedelta(minutes=44)
    assert locked_until(_at(0, 1, 2, 3, 16)) is None
    assert locked_until(_at(0, 2, 3, 4, 16, 17)) == T0 + timedelta(minutes=47)  # 2…17: five within fifteen


def test_ten_in_a_day_lock_for_a_day():
    waited = _at(0, 1, 2, 3, 60, 120, 180, 240, 300, 360)  # never five within fifteen minutes
    assert locked_until(waited[:9]) is None
    assert locked_until(waited) == waited[-1] + timedelta(hours=24)


def test_limits_can_be_set():
    strict = (LookupLimit(failures=2, within=timedelta(minutes=1), lock_for=timedelta(minutes=5)),)
    assert locked_until(_at(0, 0.5), strict) == T0 + timedelta(minutes=5.5)
    assert locked_until(_at(0, 0.5), LOOKUP_LIMITS) is None
