"""One citizen's data exported and deleted, old transcripts purged: on SQLite and PostgreSQL.

Rasa's tracker table is faked with the columns Rasa's ``SQLTrackerStore``
gives it: in a SQLite file of its own (embedded mode) or in the app's database
(production mode), following the back end under test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select, text

from daoban import cli
from daoban.privacy import RasaTrackerStore, delete_citizen, export_citizen, purge_old_transcripts
from hall.bookings import BookingBook
from hall.seed import seed_halls
from hall.tables import TicketMessageRow, TicketRow
from hall.tickets import TicketDesk
from journal.log import ChatJournal
from journal.tables import ChatLogRow, RatingRow, UnansweredRow
from tests.hall.conftest import NOW, THURSDAY, TODAY, booking_request, hall_json, write_halls

OLD = NOW - timedelta(days=200)
RETENTION_DAYS = 180
SLOT = "09:00-10:00"

EVENTS_TABLE = """
CREATE TABLE events (
    id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, type_name VARCHAR(255) NOT NULL,
    timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT
)
"""


def create_events_table(url: str) -> Engine:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(EVENTS_TABLE))
    return engine


def add_event(engine: Engine, event_id: int, sender_id: str, at: datetime, intent: str | None = None) -> None:
    data = json.dumps({"event": "user", "text": "办居住证", "timestamp": at.timestamp()}, ensure_ascii=False)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO events (id, sender_id, type_name, timestamp, intent_name, action_name, data) "
            "VALUES (:id, :sender, 'user', :ts, :intent, NULL, :data)"
        ), {"id": event_id, "sender": sender_id, "ts": at.timestamp(), "intent": intent, "data": data})


@pytest.fixture
def books(engine: Engine, tmp_path: Path) -> BookingBook:
    seed_halls(engine, write_halls(tmp_path / "halls.json", hall_json()), NOW)
    return BookingBook(engine)


@pytest.fixture
def tracker(database_url: str, tmp_path: Path) -> Iterator[tuple[RasaTrackerStore, Engine]]:
    """The fake Rasa table: a SQLite file of its own beside a SQLite app, the app's own PostgreSQL otherwise."""
    if database_url.startswith("sqlite"):
        (tmp_path / "rasa").mkdir()
        url = f"sqlite:///{tmp_path / 'rasa' / 'tracker.db'}"
    else:
        url = database_url
    raw = create_events_table(url)
    store = RasaTrackerStore(url)
    yield store, raw
    store.dispose()
    raw.dispose()


def citizen(engine: Engine, books: BookingBook, sender: str, phone: str, *, now: datetime = NOW) -> None:
    """A conversation, a rated answer, a declined question, a closed handover and a booking."""
    journal, desk = ChatJournal(engine), TicketDesk(engine)
    journal.record(sender, "web", "citizen", f"我的手机{phone}，想办居住证", now=now)
    answer = journal.record(sender, "web", "bot", f"{sender}：居住证需要身份证", "T-JZ-001", 1, now=now)
    journal.rate(sender, answer, False, "没说清楚", now=now)
    journal.note_unanswered(sender, f"{sender}问的火星签证", "reject", now=now)
    ticket = desk.open(sender_id=sender, channel="web", reason="human", item_code=None, item_name=None,
                       district=None, missing_materials=[], transcript=[("citizen", f"{sender}要人工")],
                       now=now, reply_within=timedelta(minutes=30))
    desk.close(ticket.number, now=now)
    books.book(**booking_request(sender_id=sender, phone=phone, slot_label=SLOT))


def left_in_slot(books: BookingBook) -> int:
    [slot] = [s for s in books.open_slots("T-HALL-A", THURSDAY, TODAY) if s.slot.label == SLOT]
    return slot.left


def rows(engine: Engine, table, *where) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(table).where(*where))


def test_export_has_everything_of_the_sender_and_nothing_of_another(engine, books, tracker):
    store, raw = tracker
    citizen(engine, books, "web-1", "13812345678")
    citizen(engine, books, "web-2", "13987654321")
    add_event(raw, 1, "web-1", NOW, "ask_materials")
    add_event(raw, 2, "web-2", NOW)

    data = export_citizen(engine, "web-1", store)

    dumped = json.dumps(data, ensure_ascii=False)
    assert "web-2" not in dumped and "13987654321" not in dumped and "139****4321" not in dumped
    assert [m["role"] for m in data["messages"]] == ["citizen", "bot"]
    assert data["messages"][0]["text"] == "我的手机138****5678，想办居住证"  # stored masked
    assert data["messages"][0]["at"] == "2026-11-25T01:00:00+00:00"
    assert [(r["useful"], r["reason"]) for r in data["ratings"]] == [(False, "没说清楚")]
    assert [u["text"] for u in data["unanswered"]] == ["web-1问的火星签证"]
    [ticket] = data["tickets"]
    assert ticket["status"] == "closed" and [m["text"] for m in ticket["messages"]] == ["web-1要人工"]
    [booking] = data["bookings"]
    assert (booking["phone"], booking["day"], booking["slot_label"]) == ("13812345678", "2026-11-26", SLOT)
    [event] = data["rasa_events"]
    assert (event["intent_name"], event["data"]["text"]) == ("ask_materials", "办居住证")
    assert export_citizen(engine, "web-1", None)["rasa_events"] is None


def test_delete_removes_exactly_the_sender_and_frees_the_booked_place(engine, books, tracker):
    store, raw = tracker
    citizen(engine, books, "web-1", "13812345678")
    citizen(engine, books, "web-2", "13987654321")
    add_event(raw, 1, "web-1", NOW)
    add_event(raw, 2, "web-1", NOW)
    add_event(raw, 3, "web-2", NOW)
    assert left_in_slot(books) == 0  # two places, both taken
    before = export_citizen(engine, "web-2", store)

    counts = delete_citizen(engine, "web-1", store, today=TODAY)

    assert counts == {"ratings": 1, "messages": 2, "unanswered": 1, "ticket_messages": 1, "tickets": 1,
                      "places_freed": 1, "bookings": 1, "rasa_events": 2}
    assert left_in_slot(books) == 1
    gone = export_citizen(engine, "web-1", store)
    assert all(gone[kind] == [] for kind in ("messages", "ratings", "unanswered", "tickets", "bookings",
                                             "rasa_events"))
    assert export_citizen(engine, "web-2", store) == before
    assert delete_citizen(engine, "web-1", store, today=TODAY) == dict.fromkeys(counts, 0)


def test_delete_frees_no_place_of_a_cancelled_or_past_booking(engine, books, tracker):
    store, _raw = tracker
    booking = books.book(**booking_request(sender_id="web-1", slot_label=SLOT))
    books.cancel(booking.reference, "13812345678", NOW)
    books.book(**booking_request(sender_id="web-2", phone="13987654321", slot_label=SLOT))
    assert delete_citizen(engine, "web-1", store, today=TODAY)["places_freed"] == 0
    assert delete_citizen(engine, "web-2", store, today=THURSDAY + timedelta(days=1))["places_freed"] == 0
    assert left_in_slot(books) == 1


def test_purge_respects_the_retention(engine, books, tracker):
    store, raw = tracker
    citizen(engine, books, "old", "13812345678", now=OLD)
    citizen(engine, books, "new", "13987654321")
    desk = TicketDesk(engine)
    waiting = desk.open(sender_id="waiting", channel="web", reason="human", item_code=None, item_name=None,
                        district=None, missing_materials=[], transcript=[("citizen", "还在等人工")], now=OLD,
                        reply_within=timedelta(minutes=30))
    add_event(raw, 1, "old", OLD)
    add_event(raw, 2, "new", NOW - timedelta(days=RETENTION_DAYS - 1))

    counts = purge_old_transcripts(engine, NOW, RETENTION_DAYS, store)

    assert counts == {"ratings": 1, "messages": 2, "unanswered": 1, "ticket_messages": 1, "rasa_events": 1}
    assert rows(engine, ChatLogRow.__table__, ChatLogRow.sender_id == "old") == 0
    assert rows(engine, ChatLogRow.__table__, ChatLogRow.sender_id == "new") == 2
    assert rows(engine, RatingRow.__table__) == 1
    assert rows(engine, UnansweredRow.__table__) == 1
    assert rows(engine, TicketRow.__table__) == 3  # tickets stay, without their old text
    assert [m.text for m in desk.get(waiting.number).messages] == ["还在等人工"]  # an open ticket keeps its text
    assert rows(engine, TicketMessageRow.__table__) == 2
    assert [e["id"] for e in store.events("new")] == [2] and store.events("old") == []
    assert export_citizen(engine, "old", store)["bookings"] != []  # bookings are not transcripts
    assert purge_old_transcripts(engine, NOW, RETENTION_DAYS, store) == dict.fromkeys(counts, 0)
    with pytest.raises(ValueError, match="retention_days must be >= 1, got 0"):
        purge_old_transcripts(engine, NOW, 0, store)


def test_a_tracker_store_rasa_has_not_written_yet_holds_nothing(tmp_path, database_url):
    missing = RasaTrackerStore(f"sqlite:///{tmp_path / 'no' / 'tracker.db'}")
    assert (missing.events("web-1"), missing.delete("web-1"), missing.purge(NOW.timestamp())) == ([], 0, 0)
    assert not (tmp_path / "no").exists()
    made = create_engine(database_url)
    made.connect().close()  # the database exists (a SQLite file is made), the table does not
    made.dispose()
    no_table = RasaTrackerStore(database_url)
    assert (no_table.events("web-1"), no_table.delete("web-1"), no_table.purge(NOW.timestamp())) == ([], 0, 0)
    no_table.dispose()


def test_tracker_store_follows_the_mode(settings):
    assert RasaTrackerStore.from_settings(settings).url == f"sqlite:///{settings.home / 'rasa' / 'tracker.db'}"
    production = settings.model_copy(update={"mode": "production",
                                             "database_url": "postgresql+psycopg://app:secret@db:5432/daoban"})
    assert RasaTrackerStore.from_settings(production).url == "postgresql+psycopg://app:***@db:5432/daoban"


# ---- the command -------------------------------------------------------------


@pytest.fixture
def env(monkeypatch, tmp_path, database_url, engine, books) -> Engine:
    """The command's settings point at the test database; Rasa's embedded tracker file under home."""
    home = tmp_path / "home"
    (home / "rasa").mkdir(parents=True)
    monkeypatch.setenv("DAOBAN_HOME", str(home))
    monkeypatch.setenv("DAOBAN_DATABASE_URL", database_url)
    monkeypatch.delenv("DAOBAN_MODE", raising=False)
    citizen(engine, books, "web-1", "13812345678")
    citizen(engine, books, "web-2", "13987654321")
    raw = create_events_table(f"sqlite:///{home / 'rasa' / 'tracker.db'}")
    add_event(raw, 1, "web-1", NOW)
    add_event(raw, 2, "web-2", OLD)
    raw.dispose()
    return engine


def test_cli_export_to_stdout_and_to_a_file(env, tmp_path, capsys):
    assert cli.main(["privacy", "export", "web-1"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["sender_id"] == "web-1" and len(printed["messages"]) == 2 and len(printed["rasa_events"]) == 1
    out = tmp_path / "web-1.json"
    assert cli.main(["privacy", "export", "web-1", "--out", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == printed


def test_cli_delete_needs_yes(env, capsys):
    assert cli.main(["privacy", "delete", "web-1"]) == 2
    assert rows(env, ChatLogRow.__table__, ChatLogRow.sender_id == "web-1") == 2
    assert cli.main(["privacy", "delete", "web-1", "--yes"]) == 0
    assert rows(env, ChatLogRow.__table__, ChatLogRow.sender_id == "web-1") == 0
    assert rows(env, ChatLogRow.__table__, ChatLogRow.sender_id == "web-2") == 2
    assert cli.main(["privacy", "export", "web-1"]) == 0
    assert json.loads(capsys.readouterr().out)["rasa_events"] == []


def test_cli_purge_uses_the_retention_setting(env, tmp_path, monkeypatch, capsys):
    clock = datetime.now(timezone.utc)  # the command purges by the real clock
    journal = ChatJournal(env)
    journal.record("old-1", "web", "citizen", "十天前问的", now=clock - timedelta(days=10))
    journal.record("fresh-1", "web", "citizen", "刚刚问的", now=clock)
    raw = create_engine(f"sqlite:///{tmp_path / 'home' / 'rasa' / 'tracker.db'}")
    add_event(raw, 3, "old-1", clock - timedelta(days=10))
    raw.dispose()
    monkeypatch.setenv("DAOBAN_TRANSCRIPT_RETENTION_DAYS", "5")
    assert cli.main(["privacy", "purge"]) == 0
    assert rows(env, ChatLogRow.__table__, ChatLogRow.sender_id == "old-1") == 0
    assert rows(env, ChatLogRow.__table__, ChatLogRow.sender_id == "fresh-1") == 1
    assert cli.main(["privacy", "export", "old-1"]) == 0
    assert json.loads(capsys.readouterr().out)["rasa_events"] == []
