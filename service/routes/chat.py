"""The chat API the web page (and any simple client) uses.

While a person holds the conversation (a handover ticket is waiting or taken)
the citizen's messages go to the ticket for that person to read, not to the
bot; the reply then carries no bot message, only the ticket's state, and the
page polls ``GET /api/chat/updates`` for what the person answers.

The path a message takes is ``service.conversation`` (shared with WeChat).
Every message is kept in the journal (masked): the citizen's, and each bot
message, whose journal id the page gets as ``id`` to rate it or to poll after
it. A bot message that cites a guide ("（来源：《…》办事指南 第N版…）") is kept
with that guide's code and version (``journal.sources``), which is how answers
rated 没用 are grouped by guide for the editors.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from hall.tickets import Ticket
from journal.errors import MessageNotFound
from service.console_schemas import ChatUpdate, SenderId, UpdatesResponse
from service.deps import ConversationsDep, JournalDep, TicketsDep
from service.schemas import ChatRequest, ChatResponse, HandoverState

logger = logging.getLogger(__name__)
router = APIRouter(tags=["chat"])

CHANNEL = "web"
UPDATE_ROLES = ("agent", "system")  # what a person or the service said, as opposed to the bot's replies


@router.post("/api/chat", response_model=ChatResponse)
async def chat(request: ChatRequest, conversations: ConversationsDep) -> ChatResponse:
    turn = await conversations.take(request.sender_id, CHANNEL, request.text)
    return ChatResponse(messages=turn.replies, handover=handover_state(turn.held) if turn.held else None)


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
