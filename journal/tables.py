"""Database tables of what was said and how it was rated (migrations 0005 and 0007).

A ``DeclarativeBase`` of its own, like the hall's and the accounts': the journal
shares the database and the Alembic chain but nothing else. Every text is
masked (``hall.privacy.mask_text``) before it gets here. Times are stored as
UTC (see ``hall.tables.to_utc``).

- ``chat_log``: one row per message of a conversation, whoever said it. The id
  is a uuid4 hex, handed to the web page so a citizen can rate a bot message
  and poll for what a person said after it. Within one sender's conversation
  ``at`` never repeats or goes back (``ChatJournal.record`` moves a message that
  would tie to one microsecond after the last), so ``(at, id)`` orders it. A
  bot message also keeps its kind (answer, clarify, form …) and the choices it
  offered (JSON ``[{"title", "payload"}]``), which the next typed reply is read against.
- ``ratings``: 有用 / 没用 on a message the citizen received; rating again replaces it.
- ``unanswered``: questions the bot declined; ``key`` is the question normalised
  (no punctuation or spaces, NFKC, lower case) so that the editors' to-do list
  can group them in SQL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

KEY_CHARS = 200


class Base(DeclarativeBase):
    pass


class ChatLogRow(Base):
    __tablename__ = "chat_log"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(200), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    item_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    item_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    kind: Mapped[str | None] = mapped_column(String(16), nullable=True)  # a bot message's kind (migration 0007)
    buttons: Mapped[str | None] = mapped_column(Text, nullable=True)  # the choices it offered, as JSON
    about: Mapped[str | None] = mapped_column(Text, nullable=True)  # codes of the records it answered or offered


class RatingRow(Base):
    __tablename__ = "ratings"

    message_id: Mapped[str] = mapped_column(ForeignKey("chat_log.id", ondelete="CASCADE"), primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(200))
    useful: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UnansweredRow(Base):
    __tablename__ = "unanswered"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(String(KEY_CHARS), index=True)
    decision: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
