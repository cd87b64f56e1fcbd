"""Booking, finding and cancelling appointments, on SQLite and PostgreSQL."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from hall.bookings import REFERENCE_PATTERN, BookingBook
from hall.errors import BookingAlreadyCancelled, BookingNotFound, BookingRefused, HallNotFound
from hall.seed import seed_halls
from hall.tables import READABLE_ALPHABET, BookingRow
from tests.hall.conftest import NOW, THURSDAY, TODAY, booking_request


def left(bookings, label="09:00-10:00", day=THURSDAY, hall_code="T-HALL-A"):
    return next(s.left for s in bookings.open_slots(hall_code, day, TODAY) if s.slot.label == label)


def test_book_returns_a_readable_booking(bookings):
    booking = bookings.book(**booking_request())
    assert booking.reference.startswith("YY") and len(booking.reference) == 12
    assert set(booking.reference[2:]) <= set(READABLE_ALPHABET)
    assert booking.phone == "13812345678" and booking.masked_phone == "138****5678"
    assert booking.status == "booked" and not booking.cancelled
    assert booking.created_at == NOW and booking.cancelled_at is None
    assert booking.describe() == "11月26日（周四）09:00-10:00，测试区政务服务中心，居住证申领"


def test_open_slots_count_places(bookings):
    slots = bookings.open_slots("T-HALL-A", THURSDAY, TODAY)
    assert [s.slot.label for s in slots][:3] == ["09:00-10:00", "10:00-11:00", "11:00-12:00"]
    assert {(s.capacity, s.left) for s in slots} == {(2, 2)}
    bookings.book(**booking_request())
    assert left(bookings) == 1 and left(bookings, "10:00-11:00") == 2
    bookings.book(**booking_request(name="李四", phone="13900001111"))
    full = next(s for s in bookings.open_slots("T-HALL-A", THURSDAY, TODAY) if s.slot.label == "09:00-10:00")
    assert full.left == 0 and full.full


def test_booking_and_cancelling_adjust_the_count(bookings):
    first = bookings.book(**booking_request())
    bookings.book(**booking_request(name="李四", phone="13900001111"))
    with pytest.raises(BookingRefused) as caught:
        bookings.book(**booking_request(name="王五", phone="13700002222"))
    assert caught.value.reason == "slot_full" and caught.value.message == "该时段已约满，请换一个时段。"
    cancelled = bookings.cancel(first.reference.lower(), "+86 138-1234-5678", NOW + timedelta(hours=1))
    assert cancelled.status == "cancelled" and cancelled.cancelled_at == NOW + timedelta(hours=1)
    assert left(bookings) == 1
    again = bookings.book(**booking_request(name="王五", phone="13700002222"))  # the freed place can be booked again
    assert again.reference != first.reference and left(bookings) == 0


def test_cancelling_twice_is_refused_and_frees_only_one_place(bookings):
    booking = bookings.book(**booking_request())
    bookings.cancel(booking.reference, booking.phone, NOW)
    with pytest.raises(BookingAlreadyCancelled):
        bookings.cancel(booking.reference, booking.phone, NOW)
    assert left(bookings) == 2
    assert bookings.find(booking.reference, booking.phone).cancelled


def test_find_needs_reference_and_phone(bookings):
    booking = bookings.book(**booking_request())
    found = bookings.find(f" {booking.reference.lower()} ", "138-1234-5678")
    assert found == booking
    with pytest.raises(BookingNotFound) as wrong_phone:
        bookings.find(booking.reference, "13900001111")
    with pytest.raises(BookingNotFound) as wrong_reference:
        bookings.find("YYAAAAAA", booking.phone)
    assert str(wrong_phone.value) == str(wrong_reference.value)  # nothing tells which one was wrong
    with pytest.raises(BookingNotFound):
        bookings.cancel(booking.reference, "13900001111", NOW)
    assert left(bookings) == 1


@pytest.mark.parametrize(
    "changes, reason",
    [
        (dict(day=TODAY - timedelta(days=1)), "past_date"),
        (dict(day=TODAY + timedelta(days=15)), "too_far_ahead"),
        (dict(day=date(2026, 11, 29)), "hall_closed"),  # a Sunday
        (dict(day=date(2026, 12, 1)), "hall_closed"),  # a closed Tuesday
        (dict(day=date(2026, 11, 28), slot_label="14:00-15:00"), "no_such_slot"),  # Saturday afternoon
        (dict(slot_label="12:00-13:00"), "no_such_slot"),
        (dict(slot_label="上午"), "no_such_slot"),
        (dict(phone="12345"), "invalid_phone"),
        (dict(phone="0799-86612345"), "invalid_phone"),
        (dict(name="  "), "invalid_name"),
        (dict(name="张" * 31), "invalid_name"),
        (dict(name="张三13812345678"), "invalid_name"),
        (dict(hall_code="T-HALL-B", item_code="T-SB-002", item_name="社保卡补换"), "item_not_offered"),
    ],
)
def test_every_refusal_has_its_reason_and_writes_nothing(bookings, engine, changes, reason):
    with pytest.raises(BookingRefused) as caught:
        bookings.book(**booking_request(**changes))
    assert caught.value.reason == reason
    assert caught.value.message.endswith("。") and caught.value.message.isascii() is False
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(BookingRow)) == 0


def test_the_last_day_of_the_horizon_and_today_can_be_booked(bookings):
    assert bookings.book(**booking_request(day=TODAY + timedelta(days=14))).day == date(2026, 12, 9)
    assert bookings.book(**booking_request(day=TODAY, slot_label="16:00-17:00")).day == TODAY


def test_an_extra_workday_can_be_booked(bookings):
    assert bookings.book(**booking_request(day=date(2026, 12, 6), slot_label="14:00-15:00")).slot_label == "14:00-15:00"


def test_slot_labels_are_normalised(bookings):
    assert bookings.book(**booking_request(slot_label="9:00-10:00")).slot_label == "09:00-10:00"


def test_a_restricted_hall_takes_its_items(bookings):
    assert bookings.book(**booking_request(hall_code="T-HALL-B")).hall_name == "测试区第二服务中心"


def test_open_slots_refuses_days_that_cannot_be_booked(bookings):
    with pytest.raises(BookingRefused) as caught:
        bookings.open_slots("T-HALL-A", date(2026, 12, 1), TODAY)
    assert caught.value.reason == "hall_closed" and "法定节假日" in caught.value.message
    with pytest.raises(BookingRefused, match="past_date"):
        bookings.open_slots("T-HALL-A", TODAY - timedelta(days=1), TODAY)


def test_unknown_hall(bookings):
    with pytest.raises(HallNotFound):
        bookings.book(**booking_request(hall_code="NOPE"))
    with pytest.raises(HallNotFound):
        bookings.open_slots("NOPE", THURSDAY, TODAY)


def test_a_reference_collision_draws_another_reference(engine, halls_file):
    seed_halls(engine, halls_file, NOW)
    drawn = iter(["YYSAME22", "YYSAME22", "YYOTHER3"])
    bookings = BookingBook(engine, references=lambda: next(drawn))
    assert bookings.book(**booking_request()).reference == "YYSAME22"
    second = bookings.book(**booking_request(name="李四", phone="13900001111"))
    assert second.reference == "YYOTHER3"
    assert left(bookings) == 0  # the failed attempt gave its place back


def test_naive_times_are_refused(bookings):
    booking = bookings.book(**booking_request())
    with pytest.raises(ValueError, match="timezone-aware"):
        bookings.cancel(booking.reference, booking.phone, NOW.replace(tzinfo=None))


def test_confirming_the_same_booking_again_returns_it_and_takes_no_second_place(bookings, engine):
    first = bookings.book(**booking_request())
    again = bookings.book(**booking_request(phone="13812345678", now=NOW + timedelta(minutes=1)))
    assert again.reference == first.reference and again.created_at == first.created_at
    assert left(bookings) == 1
    other_person = bookings.book(**booking_request(name="张三妈妈"))  # same sender and phone, another person
    assert other_person.reference != first.reference and left(bookings) == 0
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(BookingRow)) == 2


def test_booking_again_after_cancelling_makes_a_new_booking(bookings):
    first = bookings.book(**booking_request())
    bookings.cancel(first.reference, first.phone, NOW)
    second = bookings.book(**booking_request())
    assert second.reference != first.reference and second.status == "booked" and left(bookings) == 1


# ---- references ------------------------------------------------------------------------------------------------------

def test_a_booking_made_under_an_old_short_reference_is_still_found_and_cancelled(engine, halls_file):
    seed_halls(engine, halls_file, NOW)
    old = BookingBook(engine, references=lambda: "YY7K3M9P").book(**booking_request())
    bookings = BookingBook(engine)
    assert bookings.find("yy7k3m9p", "13812345678") == old
    assert bookings.held_by("YY7K3M9P", "web-1") == old
    assert bookings.cancel("YY7K3M9P", "13812345678", NOW).cancelled


def test_a_reference_typed_with_spaces_or_dashes_is_found(bookings):
    booking = bookings.book(**booking_request())
    grouped = f"{booking.reference[:2]} {booking.reference[2:7]}-{booking.reference[7:]}"
    assert bookings.find(grouped, booking.phone) == booking


@pytest.mark.parametrize(("text", "found"), [
    ("预约号YY7K3M9PQ4XZ查一下", "YY7K3M9PQ4XZ"),
    ("预约号yy7k3m9pq4xz，手机13912345678", "yy7k3m9pq4xz"),
    ("YY7K3M9PQ4XZ13912345678", "YY7K3M9PQ4XZ"),  # a phone typed right after: 1 is not in the alphabet
    ("预约号YY7K3M9P，手机13912345678", "YY7K3M9P"),  # an old reference
    ("YY7K3M9P13912345678", "YY7K3M9P"),
])
def test_references_of_both_lengths_are_recognised_in_text(text, found):
    assert REFERENCE_PATTERN.search(text).group(0) == found
