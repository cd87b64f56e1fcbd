"""The chat API the web page (and any simple client) uses.

While a person holds the conversation (a handover ticket is waiting or taken)
the citizen's messages go to the ticket for that person to read, not to the
bot; the reply then carries no bot message, only the ticket's state.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from hall.privacy import mask_text
from hall.tickets import Ticket
from service.deps import RasaDep, TicketsDep
from service.schemas import Button, ChatMessage, ChatRequest, ChatResponse, HandoverState

logger = logging.getLogger(__name__)
router = APIRouter(tags=["chat"])


@router.post("/api/chat", response_model=ChatResponse)
async def chat(request: ChatRequest, rasa: RasaDep, tickets: TicketsDep) -> ChatResponse:
    held = await run_in_threadpool(tickets.active_for, request.sender_id)
    if held is not None:
        await run_in_threadpool(tickets.append, held.number, "citizen", request.text, datetime.now(timezone.utc))
        logger.info("message from %s kept for ticket %s: %s", request.sender_id, held.number, mask_text(request.text)[:80])
        return ChatResponse(messages=[], handover=_state(held))
    raw = await rasa.send(request.sender_id, request.text)
    messages = [
        ChatMessage(
            text=str(m.get("text") or ""),
            buttons=[Button(title=str(b.get("title", "")), payload=str(b.get("payload", ""))) for b in m.get("buttons") or []],
        )
        for m in raw
        if m.get("text") or m.get("buttons")
    ]
    opened = await run_in_threadpool(tickets.active_for, request.sender_id)
    return ChatResponse(messages=messages, handover=_state(opened) if opened else None)


def _state(ticket: Ticket) -> HandoverState:
    return HandoverState(ticket=ticket.number, status=ticket.status, reply_due_at=ticket.reply_due_at.isoformat())
