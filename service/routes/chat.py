"""The chat API the web page (and any simple client) uses.

While a person holds the conversation (a handover ticket is waiting or taken)
the citizen's messages go to the ticket for that person to read, not to the
bot; the reply then carries no bot message, only the ticket's state, and the
page polls ``GET /api/chat/updates`` for what the person answers.

Every message is kept in the journal (masked): the citizen's, and each bot
message, whose journal id the page gets as ``id`` to rate it or to poll after
it. A bot message that cites a guide ("（来源：《…》办事指南 第N版…）") is kept
with that guide's code and version (``journal.sources``), which is how answers
rated 没用 are grouped by guide for the editors.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from starlette.concurrency import run_in_threadpool

from hall.privacy import mask_text
from hall.tickets import Ticket
from journal.errors import MessageNotFound
from journal.log import ChatJournal
from journal.sources import GuideNames
from service.console_schemas import ChatUpdate, SenderId, UpdatesResponse
from service.deps import GuideNamesDep, JournalDep, RasaDep, RateLimitDep, TicketsDep
from service.schemas import Button, ChatMessage, ChatRequest, ChatResponse, HandoverState

logger = logging.getLogger(__name__)
router = APIRouter(tags=["chat"])

CHANNEL = "web"
UPDATE_ROLES = ("agent", "system")  # what a person or the service said, as opposed to the bot's replies


@router.post("/api/chat", response_model=ChatResponse)
async def chat(request: ChatRequest, rasa: RasaDep, tickets: TicketsDep, journal: JournalDep,
               names: GuideNamesDep, limit: RateLimitDep) -> ChatResponse:
    if not limit.allow(request.sender_id):
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "发送太频繁，请稍等一分钟再试。",
                            headers={"Retry-After": "60"})
    await run_in_threadpool(journal.record, request.sender_id, CHANNEL, "citizen", request.text,
                            now=datetime.now(timezone.utc))
    held = await run_in_threadpool(tickets.active_for, request.sender_id)
    if held is not None:
        await run_in_threadpool(tickets.append, held.number, "citizen", request.text, datetime.now(timezone.utc))
        logger.info("message from %s kept for ticket %s: %s", request.sender_id, held.number, mask_text(request.text)[:80])
        return ChatResponse(messages=[], handover=handover_state(held))
    raw = await rasa.send(request.sender_id, request.text)
    messages = await run_in_threadpool(_record_replies, journal, names, request.sender_id, raw)
    opened = await run_in_threadpool(tickets.active_for, request.sender_id)
    return ChatResponse(messages=messages, handover=handover_state(opened) if opened else None)


@router.get("/api/chat/updates", response_model=UpdatesResponse)
def updates(sender_id: Annotated[SenderId, Query()], journal: JournalDep, tickets: TicketsDep,
            after: Annotated[str, Query(max_length=64)] = "") -> UpdatesResponse:
    """What a person or the service said to the citizen after message ``after``, oldest first."""
    try:
        said = journal.after(sender_id, after.strip() or None, UPDATE_ROLES)
    except MessageNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such message in this conversation") from exc
    held = tickets.active_for(sender_id)
    return UpdatesResponse(
        messages=[ChatUpdate(id=m.id, role=m.role, text=m.text) for m in said],
        handover=handover_state(held) if held else None,
    )


def handover_state(ticket: Ticket) -> HandoverState:
    return HandoverState(ticket=ticket.number, status=ticket.status, reply_due_at=ticket.reply_due_at.isoformat())


def _record_replies(journal: ChatJournal, names: GuideNames, sender_id: str,
                    raw: Sequence[dict[str, Any]]) -> list[ChatMessage]:
    messages = []
    for m in raw:
        if not (m.get("text") or m.get("buttons")):
            continue
        text = str(m.get("text") or "")
        guide = names.resolve(text)
        message_id = journal.record(sender_id, CHANNEL, "bot", text, guide.code if guide else None,
                                    guide.version if guide else None, now=datetime.now(timezone.utc))
        buttons = [Button(title=str(b.get("title", "")), payload=str(b.get("payload", ""))) for b in m.get("buttons") or []]
        messages.append(ChatMessage(id=message_id, text=text, buttons=buttons))
    return messages
