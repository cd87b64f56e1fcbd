"""The conversation journal: every message, the citizens' ratings, the questions the bot declined.

The web chat records each citizen message and each bot message here, the agent
console each reply of a person, the service each system notice ("人工服务已结束…");
the action server notes each question it could not answer. What comes out:

- ``after``: what was said to a citizen after a given message (the web page
  polls it for a person's replies while a ticket holds the conversation);
- ``recent_conversations``: the latest conversations, for an agent to take one over;
- ``todo``: for editors, the declined questions grouped by their normalised
  text, and the answers rated 没用 grouped by the guide they came from.

Every text is masked (``hall.privacy.mask_text``) before it is stored.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
import uuid
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal, get_args

from sqlalchemy import Connection, Engine, Row, and_, false, func, insert, or_, select

from hall.privacy import mask_text
from hall.tables import from_db, to_utc, upsert_insert, write_transaction
from journal.errors import InvalidEntry, MessageNotFound
from journal.tables import KEY_CHARS, ChatLogRow, RatingRow, UnansweredRow

logger = logging.getLogger(__name__)

Role = Literal["citizen", "bot", "agent", "system"]
Decision = Literal["reject", "fallback"]
ROLES: tuple[str, ...] = get_args(Role)
DECISIONS: tuple[str, ...] = get_args(Decision)
RECEIVED_ROLES = ("bot", "agent", "system")  # what a citizen is told, and so may rate
MAX_REASON_CHARS = 200
EXAMPLES_PER_GROUP = 3
KIND_CHARS = 16
_SCAN_BATCH = 500
_TURN_MESSAGES = 10  # a bot turn is a few messages at most
_OFFERS_REMEMBERED = 50  # bot messages with buttons a tap may still come from
_NOT_WORD = re.compile(r"[\W_]+")


def normalise_question(text: str) -> str:
    """The grouping key of a question: NFKC, lower case, without punctuation, symbols or spaces.

    "社保卡，怎么 补办？" and "社保卡怎么补办" are one question to an editor.
    """
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text or "")).lower()[:KEY_CHARS]


@dataclass(frozen=True)
class JournalMessage:
    id: str
    sender_id: str
    channel: str
    role: str
    text: str
    item_code: str | None
    item_version: int | None
    at: datetime
    kind: str | None = None
    buttons: tuple[tuple[str, str], ...] = ()  # (title, payload) of each choice a bot message offered
    about: tuple[str, ...] = ()  # codes of the records a bot message answered from or offered


@dataclass(frozen=True)
class Conversation:
    sender_id: str
    channel: str
    last_text: str
    last_at: datetime


@dataclass(frozen=True)
class Rating:
    message_id: str
    sender_id: str
    useful: bool
    reason: str | None
    at: datetime


@dataclass(frozen=True)
class TodoGroup:
    """``key`` is unique across kinds: ``unanswered:<normalised question>`` or ``rated_useless:<item code>``."""

    key: str
    kind: str  # "unanswered" or "rated_useless"
    count: int
    examples: tuple[str, ...]
    item_code: str | None
    last_at: datetime


class ChatJournal:
    def __init__(self, engine: Engine, *, ids: Callable[[], str] = lambda: uuid.uuid4().hex):
        self._engine = engine
        self._ids = ids

    # ---- writing -----------------------------------------------------------

    def record(self, sender_id: str, channel: str, role: str, text: str, item_code: str | None = None,
               item_version: int | None = None, *, now: datetime, kind: str | None = None,
               buttons: Sequence[tuple[str, str]] = (), about: Sequence[str] = ()) -> str:
        """Keep one message (masked); its id. ``at`` is moved past the sender's last message if it would tie.

        ``kind``, ``about`` (record codes) and ``buttons`` (title, payload) describe a bot message: what it did,
        about which records, and the choices it offered.
        """
        if role not in ROLES:
            raise InvalidEntry(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        if kind is not None and len(kind) > KIND_CHARS:
            raise InvalidEntry(f"kind has at most {KIND_CHARS} characters, got {kind!r}")
        stamp = to_utc(now)
        message_id = self._ids()
        with write_transaction(self._engine) as connection:
            last = from_db(connection.scalar(select(func.max(ChatLogRow.at)).where(ChatLogRow.sender_id == sender_id)))
            if last is not None and stamp <= last:
                stamp = last + timedelta(microseconds=1)
            connection.execute(insert(ChatLogRow).values(
                id=message_id, sender_id=sender_id, channel=channel, role=role, text=mask_text(text or ""),
                item_code=item_code, item_version=item_version, at=stamp, kind=kind,
                buttons=json.dumps([{"title": t, "payload": p} for t, p in buttons], ensure_ascii=False) if buttons else None,
                about=json.dumps(list(about)) if about else None,
            ))
        return message_id

    def rate(self, sender_id: str, message_id: str, useful: bool, reason: str | None, *, now: datetime) -> Rating:
        """The citizen's 有用 / 没用 on a message they received; rating again replaces the rating."""
        reason = mask_text(reason.strip()) if reason and reason.strip() else None
        if reason is not None and len(reason) > MAX_REASON_CHARS:
            raise InvalidEntry(f"reason has at most {MAX_REASON_CHARS} characters, got {len(reason)}")
        stamp = to_utc(now)
        with write_transaction(self._engine) as connection:
            received = connection.execute(select(ChatLogRow.id).where(
                ChatLogRow.id == message_id, ChatLogRow.sender_id == sender_id, ChatLogRow.role.in_(RECEIVED_ROLES),
            )).first()
            if received is None:
                raise MessageNotFound(sender_id, message_id)
            values = {"sender_id": sender_id, "useful": useful, "reason": reason, "at": stamp}
            statement = upsert_insert(connection)(RatingRow).values(message_id=message_id, **values)
            connection.execute(statement.on_conflict_do_update(index_elements=[RatingRow.message_id], set_=values))
        return Rating(message_id=message_id, sender_id=sender_id, useful=useful, reason=reason, at=stamp)

    def note_unanswered(self, sender_id: str, text: str, decision: str, *, now: datetime) -> None:
        """A question the bot declined: ``reject`` (retrieval found no guide) or ``fallback`` (nothing to search)."""
        if decision not in DECISIONS:
            raise InvalidEntry(f"decision must be one of {', '.join(DECISIONS)}, got {decision!r}")
        masked = mask_text(text or "")
        with write_transaction(self._engine) as connection:
            connection.execute(insert(UnansweredRow).values(
                sender_id=sender_id, text=masked, key=normalise_question(masked), decision=decision, at=to_utc(now),
            ))

    # ---- reading -----------------------------------------------------------

    def messages(self, sender_id: str, limit: int = 50) -> list[JournalMessage]:
        """The sender's last ``limit`` messages, oldest first."""
        query = (select(ChatLogRow).where(ChatLogRow.sender_id == sender_id)
                 .order_by(ChatLogRow.at.desc(), ChatLogRow.id.desc()).limit(_positive(limit, "limit")))
        with self._engine.connect() as connection:
            return [_message(row) for row in reversed(connection.execute(query).all())]

    def pending_choices(self, sender_id: str) -> tuple[tuple[str, str], ...]:
        """The choices (title, payload) of the bot's last turn, while nobody has said anything since.

        The citizen's next message may answer them by typing ("第二个"); once the
        citizen, a person or the service has spoken, they are stale and none are pending.
        """
        query = (select(ChatLogRow.role, ChatLogRow.buttons).where(ChatLogRow.sender_id == sender_id)
                 .order_by(ChatLogRow.at.desc(), ChatLogRow.id.desc()).limit(_TURN_MESSAGES))
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        turn = []
        for row in rows:  # newest first: the bot's messages back to what came before them
            if row.role != "bot":
                break
            turn.append(row)
        return tuple(choice for row in reversed(turn) for choice in _buttons(row.buttons))

    def offered(self, sender_id: str, payload: str, within: int = _OFFERS_REMEMBERED) -> bool:
        """Whether one of the bot's last ``within`` messages to ``sender_id`` had a button with ``payload``: a
        tap on an earlier button still counts, a payload nobody offered is the citizen's typing."""
        query = (select(ChatLogRow.buttons).where(ChatLogRow.sender_id == sender_id, ChatLogRow.role == "bot",
                                                   ChatLogRow.buttons.is_not(None))
                 .order_by(ChatLogRow.at.desc(), ChatLogRow.id.desc()).limit(within))
        with self._engine.connect() as connection:
            rows = connection.execute(query).scalars().all()
        return any(offered == payload for stored in rows for _, offered in _buttons(stored))

    def after(self, sender_id: str, after_id: str | None, roles: Collection[str] = ROLES,
              limit: int = 100) -> list[JournalMessage]:
        """The sender's messages in ``roles`` after ``after_id`` (any message of theirs), oldest first.

        Without ``after_id``, from the start of the conversation. An id that is
        not one of this sender's messages raises ``MessageNotFound``.
        """
        unknown = [r for r in roles if r not in ROLES]
        if unknown or not roles:
            raise InvalidEntry(f"roles must be some of {', '.join(ROLES)}, got {sorted(roles)}")
        query = select(ChatLogRow).where(ChatLogRow.sender_id == sender_id, ChatLogRow.role.in_(list(roles)))
        with self._engine.connect() as connection:
            if after_id:
                cursor = connection.execute(select(ChatLogRow.at, ChatLogRow.id).where(
                    ChatLogRow.id == after_id, ChatLogRow.sender_id == sender_id)).first()
                if cursor is None:
                    raise MessageNotFound(sender_id, after_id)
                query = query.where(or_(ChatLogRow.at > cursor.at,
                                        and_(ChatLogRow.at == cursor.at, ChatLogRow.id > cursor.id)))
            query = query.order_by(ChatLogRow.at, ChatLogRow.id).limit(_positive(limit, "limit"))
            return [_message(row) for row in connection.execute(query)]

    def recent_conversations(self, limit: int = 50) -> list[Conversation]:
        """The ``limit`` conversations with the latest messages, newest first, each with its last message.

        Walks the log backwards on its time index until it has seen ``limit``
        senders, instead of grouping the whole log.
        """
        limit = _positive(limit, "limit")
        found: dict[str, Conversation] = {}
        cursor: Row | None = None
        with self._engine.connect() as connection:
            while len(found) < limit:
                query = select(ChatLogRow).order_by(ChatLogRow.at.desc(), ChatLogRow.id.desc()).limit(_SCAN_BATCH)
                if cursor is not None:
                    query = query.where(or_(ChatLogRow.at < cursor.at,
                                            and_(ChatLogRow.at == cursor.at, ChatLogRow.id < cursor.id)))
                rows = connection.execute(query).all()
                for row in rows:
                    if row.sender_id not in found and len(found) < limit:
                        found[row.sender_id] = Conversation(sender_id=row.sender_id, channel=row.channel,
                                                            last_text=row.text, last_at=from_db(row.at))
                if len(rows) < _SCAN_BATCH:
                    break
                cursor = rows[-1]
        return list(found.values())

    def todo(self, limit: int = 50) -> list[TodoGroup]:
        """Declined questions and answers rated 没用, grouped, biggest groups first (then the latest)."""
        limit = _positive(limit, "limit")
        with self._engine.connect() as connection:
            groups = [*_unanswered_groups(connection, limit), *_useless_groups(connection, limit)]
        groups.sort(key=lambda g: (g.count, g.last_at), reverse=True)
        return groups[:limit]


def _unanswered_groups(connection: Connection, limit: int) -> list[TodoGroup]:
    count, last_at = func.count().label("count"), func.max(UnansweredRow.at).label("last_at")
    query = (select(UnansweredRow.key, count, last_at).group_by(UnansweredRow.key)
             .order_by(count.desc(), last_at.desc()).limit(limit))
    groups = []
    for row in connection.execute(query).all():
        texts = connection.scalars(select(UnansweredRow.text).where(UnansweredRow.key == row.key)
                                   .order_by(UnansweredRow.at.desc(), UnansweredRow.id.desc()).limit(20))
        groups.append(TodoGroup(key=f"unanswered:{row.key}", kind="unanswered", count=row.count,
                                examples=_distinct(texts), item_code=None, last_at=from_db(row.last_at)))
    return groups


def _useless_groups(connection: Connection, limit: int) -> list[TodoGroup]:
    count, last_at = func.count().label("count"), func.max(RatingRow.at).label("last_at")
    useless = and_(RatingRow.useful == false(), ChatLogRow.role == "bot")
    query = (select(ChatLogRow.item_code, count, last_at).join(ChatLogRow, RatingRow.message_id == ChatLogRow.id)
             .where(useless).group_by(ChatLogRow.item_code).order_by(count.desc(), last_at.desc()).limit(limit))
    groups = []
    for row in connection.execute(query).all():
        same_item = ChatLogRow.item_code == row.item_code if row.item_code is not None else ChatLogRow.item_code.is_(None)
        rated = connection.execute(
            select(RatingRow.reason, ChatLogRow.sender_id, ChatLogRow.at, ChatLogRow.text)
            .join(ChatLogRow, RatingRow.message_id == ChatLogRow.id).where(useless, same_item)
            .order_by(RatingRow.at.desc()).limit(EXAMPLES_PER_GROUP * 2)
        ).all()
        examples = [_useless_example(connection, r) for r in rated]
        groups.append(TodoGroup(key=f"rated_useless:{row.item_code or ''}", kind="rated_useless", count=row.count,
                                examples=_distinct(examples), item_code=row.item_code,
                                last_at=from_db(row.last_at)))
    return groups


def _useless_example(connection: Connection, rated: Row) -> str:
    """The question the useless answer was given to, with the citizen's reason when they gave one."""
    question = connection.scalar(
        select(ChatLogRow.text).where(ChatLogRow.sender_id == rated.sender_id, ChatLogRow.role == "citizen",
                                      ChatLogRow.at < rated.at)
        .order_by(ChatLogRow.at.desc()).limit(1)
    )
    said = question or rated.text[:80]
    return f"{said}（{rated.reason}）" if rated.reason else said


def _distinct(texts: Iterable[str]) -> tuple[str, ...]:
    seen: list[str] = []
    for text in texts:
        if text not in seen:
            seen.append(text)
        if len(seen) == EXAMPLES_PER_GROUP:
            break
    return tuple(seen)


def _message(row: Row) -> JournalMessage:
    return JournalMessage(id=row.id, sender_id=row.sender_id, channel=row.channel, role=row.role, text=row.text,
                          item_code=row.item_code, item_version=row.item_version, at=from_db(row.at),
                          kind=row.kind, buttons=_buttons(row.buttons),
                          about=tuple(json.loads(row.about)) if row.about else ())


def in_people_s_words(messages: Sequence[JournalMessage]) -> list[JournalMessage]:
    """``messages`` as the citizen saw them: a tapped choice (its payload, as the page sent it) written as the
    title of the choice it was in the bot's message just before; what agents and reloaded pages show."""
    shown, offered = [], {}
    for message in messages:
        if message.role == "citizen" and message.text in offered:
            message = replace(message, text=offered[message.text])
        shown.append(message)
        if message.role == "bot" and message.buttons:
            offered = {payload: title for title, payload in message.buttons}
        elif message.role == "citizen":
            offered = {}
    return shown


def _buttons(stored: str | None) -> tuple[tuple[str, str], ...]:
    if not stored:
        return ()
    return tuple((str(b.get("title", "")), str(b.get("payload", ""))) for b in json.loads(stored))


def _positive(value: int, name: str) -> int:
    if value < 1:
        raise InvalidEntry(f"{name} must be >= 1, got {value}")
    return value
