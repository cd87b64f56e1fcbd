"""Where actions get the hall's bookings, tickets, the conversation journal and the clock.

Like the retrieval engine, these are made on first use inside the action
server's worker (Sanic pickles actions when it spawns one); tests hand actions
a ``HallServices`` of their own with a fixed clock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from daoban.settings import Settings, load_settings
from hall.bookings import BookingBook
from hall.tickets import TicketDesk
from journal.log import ChatJournal
from knowledge.database import make_engine

Clock = Callable[[], datetime]


class HallServices:
    def __init__(self, engine: Engine, clock: Clock, reply_within: timedelta):
        self.bookings = BookingBook(engine)
        self.tickets = TicketDesk(engine)
        self.journal = ChatJournal(engine)  # questions the bot could not answer, for the editors' to-do list
        self.now = clock
        self.reply_within = reply_within


def local_clock(timezone: str) -> Clock:
    zone = ZoneInfo(timezone)
    return lambda: datetime.now(zone)


class _LazyHall:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: HallServices | None = None

    def get(self, settings: Settings | None = None) -> HallServices:
        with self._lock:
            if self._value is None:
                settings = settings or load_settings()
                self._value = HallServices(
                    make_engine(settings.sqlalchemy_url),
                    local_clock(settings.timezone),
                    timedelta(minutes=settings.handover_reply_minutes),
                )
            return self._value


_default = _LazyHall()


def default_hall() -> HallServices:
    return _default.get()
