"""One citizen message through the service, whatever the channel: the web chat and WeChat take the same path.

The sender's rate is checked, the message is kept in the journal (masked),
and it goes to whoever holds the conversation:

- a person, while a hand-over ticket is *taken*: the message is the ticket's;
- the bot otherwise. While a ticket still *waits* for a person, the citizen
  may go on asking the bot (the ticket stays open and keeps every message); a
  message that asks nothing ("我家在长宁路，请尽快联系我") is for the person and
  only acknowledged, and so is a question the bot cannot answer.

Before the bot reads a typed message it is read against the choices of the
bot's last turn (``actions.offers``): "第二个", "补办的" or "2" on WeChat mean
what tapping that choice would have meant. The choices are kept with the bot's
messages in the journal, so every API worker and a restarted one read the same.
Whatever the reading, the bot also gets the pending choices as metadata, for
a reply that asks about them ("要带啥" after "您是想办理哪一项").

Each bot message is journaled with the guide it cites, its kind (answer,
clarify, form …, as the action said) and its choices.

A message starting with "/" reaches Rasa as an intent payload only when it is
a choice the bot offered this sender (the page sends a tapped button's payload
as the message); typed by a citizen ("/restart", "/book_appointment{…}") it
is text like any other.

Where a web message came from (``origin``: the client's address) has limits of
its own, since a web citizen can always drop their cookie and come back as a
new one: messages per minute, and hand-overs per hour (over it, the bot is
told, and says so instead of opening a ticket). WeChat messages all come from
WeChat's servers and carry a verified openid, so only the sender's limit
applies to them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from starlette.concurrency import run_in_threadpool

from actions.offers import Choice, OfferReader
from hall.privacy import mask_text
from hall.tickets import Ticket, TicketDesk
from journal.log import ChatJournal
from journal.sources import GuideNames
from service.errors import TooManyMessages
from service.limits import Budget, SenderRateLimit
from service.rasa_client import RasaClient
from service.schemas import Button, ChatMessage

logger = logging.getLogger(__name__)

META_KEY = "daoban"  # what actions.speech puts in a message's custom JSON
WAITING_NOTE = "您的留言已转给工作人员（工单 {number}），请稍候；在此期间也可以继续向我提问。"
UNANSWERED_KINDS = frozenset({"decline"})
QUESTION_MARKS = ("？", "?", "吗", "么", "呢", "怎么", "咋", "哪", "多少", "几", "啥", "什么", "能不能", "可不可以", "是否",
                  "要不要", "行不行", "有没有")
QUESTION_ENDS = ("不", "没", "没有")  # "收钱不", "办好了没"
PAYLOAD_MARK = "/"  # how Rasa's NLU tells an intent payload from text
TYPED_MARK = "／"  # what a typed leading "/" becomes: the same to a reader, text to Rasa
HANDOVER_ALLOWED = "handover_allowed"  # the metadata key actions.handover reads


@dataclass(frozen=True)
class Turn:
    replies: list[ChatMessage]  # the bot's messages, with their journal ids; none while a person holds it
    held: Ticket | None  # the ticket holding the conversation after this message, if any


@dataclass(frozen=True)
class Conversations:
    rasa: RasaClient
    tickets: TicketDesk
    journal: ChatJournal
    names: GuideNames
    limit: SenderRateLimit
    reader: OfferReader | None = None
    origin_limit: SenderRateLimit | None = None  # messages per minute from one address
    handovers: Budget | None = None  # hand-overs per hour from one address

    async def take(self, sender_id: str, channel: str, text: str, origin: str | None = None) -> Turn:
        """``text`` as the citizen wrote it (journaled, shown to staff); ``origin`` is where it came from.

        Raises ``TooManyMessages`` over the sender's or the origin's rate and ``AssistantUnavailable`` when the
        bot fails.
        """
        if not self.limit.allow(sender_id):
            raise TooManyMessages("发送太频繁，请稍等一分钟再试。")
        if origin is not None and self.origin_limit is not None and not self.origin_limit.allow(origin):
            raise TooManyMessages("发送太频繁，请稍等一分钟再试。")
        now = datetime.now(timezone.utc)
        pending = await run_in_threadpool(self.journal.pending_choices, sender_id)
        await run_in_threadpool(self.journal.record, sender_id, channel, "citizen", text, now=now)
        held = await run_in_threadpool(self.tickets.active_for, sender_id)
        if held is not None:
            await run_in_threadpool(self.tickets.append, held.number, "citizen", text, now)
            logger.info("message from %s kept for ticket %s: %s", sender_id, held.number, mask_text(text)[:80])
            if held.status != "waiting":
                return Turn(replies=[], held=held)
            if not asks_something(text):
                raw = [_waiting_note(held)]
                return Turn(replies=await run_in_threadpool(self._record_replies, sender_id, channel, raw), held=held)
        choices = [Choice(title, payload) for title, payload in pending]
        pick = await run_in_threadpool(self.reader.read, text, choices) if self.reader and choices else None
        if pick is not None:
            logger.info("%s's reply read as choice %r (%s)", sender_id, pick.choice.title, pick.how)
        may_hand_over = origin is None or self.handovers is None or self.handovers.left(origin)
        metadata = {"typed": text, "offers": [{"title": c.title, "payload": c.payload} for c in choices],
                    HANDOVER_ALLOWED: may_hand_over, "channel": channel}
        said = pick.choice.payload if pick else await run_in_threadpool(self._as_said, sender_id, text)
        raw = await self.rasa.send(sender_id, said, metadata)
        if held is not None and _all_unanswered(raw):
            raw = [_waiting_note(held)]
        replies = await run_in_threadpool(self._record_replies, sender_id, channel, raw)
        now_held = await run_in_threadpool(self.tickets.active_for, sender_id)
        if now_held is not None and held is None and origin is not None and self.handovers is not None:
            self.handovers.spend(origin)
        return Turn(replies=replies, held=now_held)

    def _as_said(self, sender_id: str, text: str) -> str:
        """``text`` as Rasa should read it: a payload only if the bot offered it to this sender."""
        if not text.startswith(PAYLOAD_MARK) or self.journal.offered(sender_id, text):
            return text
        logger.info("a typed %r from %s goes to the bot as text", text[:40], sender_id)
        return TYPED_MARK + text[len(PAYLOAD_MARK):]

    async def greet(self, sender_id: str, channel: str, text: str, buttons: Sequence[tuple[str, str]]) -> None:
        """Keep a welcome the channel said by itself (WeChat's, on following), so a number typed next picks from it."""
        await run_in_threadpool(self.journal.record, sender_id, channel, "bot", text, now=datetime.now(timezone.utc),
                                kind="other", buttons=list(buttons))

    def _record_replies(self, sender_id: str, channel: str, raw: Sequence[dict[str, Any]]) -> list[ChatMessage]:
        messages = []
        for text, buttons, meta in _joined(raw):
            guide = self.names.resolve(text)
            about = [str(c) for c in meta.get("about") or []]
            message_id = self.journal.record(
                sender_id, channel, "bot", text, guide.code if guide else None, guide.version if guide else None,
                now=datetime.now(timezone.utc), kind=meta.get("kind"),
                buttons=[(b.title, b.payload) for b in buttons], about=about,
            )
            messages.append(ChatMessage(id=message_id, text=text, buttons=buttons, kind=meta.get("kind"), about=about))
        return messages


def _joined(raw: Sequence[dict[str, Any]]) -> list[tuple[str, list[Button], dict[str, Any]]]:
    """Rasa's REST output as (text, buttons, meta): a message's custom JSON comes as a message of its own
    right after it, and belongs to it."""
    joined: list[tuple[str, list[Button], dict[str, Any]]] = []
    for m in raw:
        meta = (m.get("custom") or {}).get(META_KEY) if isinstance(m.get("custom"), dict) else None
        if m.get("text") or m.get("buttons"):
            buttons = [Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
                       for b in m.get("buttons") or []]
            joined.append((str(m.get("text") or ""), buttons, dict(meta or {})))
        elif meta and joined:
            joined[-1][2].update(meta)
    return joined


def asks_something(text: str) -> bool:
    """Whether a message is a question (marks, question words) rather than something said for the person."""
    return any(mark in text for mark in QUESTION_MARKS) or text.rstrip("。！!~～ ").endswith(QUESTION_ENDS)


def _waiting_note(ticket: Ticket) -> dict[str, Any]:
    return {"text": WAITING_NOTE.format(number=ticket.number), "custom": {META_KEY: {"kind": "other"}}}


def _all_unanswered(raw: Sequence[dict[str, Any]]) -> bool:
    kinds = [meta.get("kind") for _, _, meta in _joined(raw)]
    return bool(kinds) and all(kind in UNANSWERED_KINDS for kind in kinds)
