"""One citizen message through the service, whatever the channel: the web chat and WeChat take the same path.

The sender's rate is checked, the message is kept in the journal (masked),
and it goes to the person holding the conversation (a handover ticket waiting
or taken) or else to the bot, whose replies are journaled with the guide they
cite. Channels differ only in how they show the result.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from starlette.concurrency import run_in_threadpool

from hall.privacy import mask_text
from hall.tickets import Ticket, TicketDesk
from journal.log import ChatJournal
from journal.sources import GuideNames
from service.errors import TooManyMessages
from service.limits import SenderRateLimit
from service.rasa_client import RasaClient
from service.schemas import Button, ChatMessage

logger = logging.getLogger(__name__)


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

    async def take(self, sender_id: str, channel: str, text: str, *, bot_text: str | None = None) -> Turn:
        """``text`` as the citizen wrote it (journaled, shown to staff); ``bot_text`` what the bot gets instead,
        when the channel translated it (a WeChat menu number into its button's payload).

        Raises ``TooManyMessages`` over the sender's rate and ``AssistantUnavailable`` when the bot fails.
        """
        if not self.limit.allow(sender_id):
            raise TooManyMessages("发送太频繁，请稍等一分钟再试。")
        now = datetime.now(timezone.utc)
        await run_in_threadpool(self.journal.record, sender_id, channel, "citizen", text, now=now)
        held = await run_in_threadpool(self.tickets.active_for, sender_id)
        if held is not None:
            await run_in_threadpool(self.tickets.append, held.number, "citizen", text, now)
            logger.info("message from %s kept for ticket %s: %s", sender_id, held.number, mask_text(text)[:80])
            return Turn(replies=[], held=held)
        raw = await self.rasa.send(sender_id, bot_text if bot_text is not None else text)
        replies = await run_in_threadpool(self._record_replies, sender_id, channel, raw)
        return Turn(replies=replies, held=await run_in_threadpool(self.tickets.active_for, sender_id))

    def _record_replies(self, sender_id: str, channel: str, raw: Sequence[dict[str, Any]]) -> list[ChatMessage]:
        messages = []
        for m in raw:
            if not (m.get("text") or m.get("buttons")):
                continue
            text = str(m.get("text") or "")
            guide = self.names.resolve(text)
            message_id = self.journal.record(sender_id, channel, "bot", text, guide.code if guide else None,
                                             guide.version if guide else None, now=datetime.now(timezone.utc))
            buttons = [Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
                       for b in m.get("buttons") or []]
            messages.append(ChatMessage(id=message_id, text=text, buttons=buttons))
        return messages
