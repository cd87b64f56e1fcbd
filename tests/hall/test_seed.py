"""Seeding halls from the JSON file, on SQLite and PostgreSQL."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from hall.bookings import BookingBook
from hall.errors import HallDataError, HallNotFound
from hall.seed import DEMO_HALLS, seed_halls
from hall.tables import HallRow, from_db
from tests.hall.conftest import NOW, hall_json, write_halls


def test_seed_demo_halls_then_read_them_back(engine):
    assert seed_halls(engine, DEMO_HALLS, NOW) == 4
    book = BookingBook(engine)
    assert [h.code for h in book.halls()] == ["JC-HALL-DH", "JC-HALL-LJ", "JC-HALL-QS", "JC-HALL-SJ"]
    assert [h.name for h in book.halls_in("江川市本级")] == ["江川市政务服务中心"]
    assert book.hall("JC-HALL-QS").address == "青山区长宁路88号"
    assert book.halls_in("月球区") == []
    with pytest.raises(HallNotFound):
        book.hall("JC-HALL-XX")


def test_seed_upserts_by_code_and_leaves_unchanged_halls_alone(engine, tmp_path):
    path = write_halls(tmp_path / "h.json", hall_json(), hall_json("T-HALL-B"))
    assert seed_halls(engine, path, NOW) == 2
    assert seed_halls(engine, path, NOW + timedelta(hours=1)) == 0  # nothing changed
    write_halls(path, hall_json(capacity_per_slot=9), hall_json("T-HALL-B"), hall_json("T-HALL-N"))
    assert seed_halls(engine, path, NOW + timedelta(hours=2)) == 2
    book = BookingBook(engine)
    assert book.hall("T-HALL-A").capacity_per_slot == 9
    assert [h.code for h in book.halls()] == ["T-HALL-A", "T-HALL-B", "T-HALL-N"]
    with engine.connect() as connection:
        stamps = dict(connection.execute(select(HallRow.code, HallRow.updated_at)).all())
    assert from_db(stamps["T-HALL-B"]) == NOW  # unchanged since the first seed
    assert from_db(stamps["T-HALL-A"]) == from_db(stamps["T-HALL-N"]) == NOW + timedelta(hours=2)


def test_a_bad_file_changes_nothing_and_names_the_file(engine, tmp_path):
    seed_halls(engine, write_halls(tmp_path / "good.json", hall_json()), NOW)
    bad = write_halls(tmp_path / "bad.json", hall_json(capacity_per_slot=50), hall_json("T-HALL-X", phone=""))
    with pytest.raises(HallDataError, match=r"bad\.json: hall #1 \(T-HALL-X\): phone"):
        seed_halls(engine, bad, NOW)
    assert BookingBook(engine).hall("T-HALL-A").capacity_per_slot == 2
    assert [h.code for h in BookingBook(engine).halls()] == ["T-HALL-A"]
