"""The chat API the web page (and any simple client) uses.

While a person holds the conversation (a handover ticket is waiting or taken)
the citizen's messages go to the ticket for that person to read, not to the
bot; the reply then carries no bot message, only the ticket's state, and the
page polls ``GET /api/chat/updates`` for what the person answers.

Who the citizen is comes from a cookie the server issued (``service.citizens``),
never from the request: the first message gets one, and only its holder reads
the conversation's updates, rates its messages or speaks in its ticket.

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

from fastapi import APIRouter, HTTPException, Query, Request, Response, status

from hall.tickets import Ticket
from journal.errors import MessageNotFound
from journal.log import in_people_s_words
from service.citizens import CitizenCookies
from service.console_schemas import ChatUpdate, HistoryMessage, HistoryResponse, UpdatesResponse
from service.deps import CitizensDep, ClientAddressDep, ConversationsDep, JournalDep, TicketsDep
from service.schemas import Button, ChatRequest, ChatResponse, HandoverState

logger = logging.getLogger(__name__)
router = APIRouter(tags=["chat"])

CHANNEL = "web"
HISTORY_MESSAGES = 100  # what a reloaded page shows again: the conversation's last hundred messages
UPDATE_ROLES = ("agent", "system")  # what a person or the service said, as opposed to the bot's replies


@router.post("/api/chat", response_model=ChatResponse)
async def chat(body: ChatRequest, request: Request, response: Response, conversations: ConversationsDep,
               citizens: CitizensDep, address: ClientAddressDep) -> ChatResponse:
    sender_id = citizens.issue(request, response)
    turn = await conversations.take(sender_id, CHANNEL, body.text, origin=f"ip:{address}")
    return ChatResponse(messages=turn.replies, handover=handover_state(turn.held) if turn.held else None)


def known_citizen(request: Request, citizens: CitizenCookies) -> str:
    """The citizen whose cookie came with ``request``; 401 without one (nothing of theirs to show)."""
    sender_id = citizens.of(request)
    if sender_id is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "no conversation: send a message to POST /api/chat first")
    return sender_id


@router.get("/api/chat/updates", response_model=UpdatesResponse)
def updates(request: Request, citizens: CitizensDep, journal: JournalDep, tickets: TicketsDep,
            after: Annotated[str, Query(max_length=64)] = "") -> UpdatesResponse:
    """What a person or the service said to the citizen after message ``after``, oldest first."""
    sender_id = known_citizen(request, citizens)
    try:
        said = journal.after(sender_id, after.strip() or None, UPDATE_ROLES)
    except MessageNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such message in this conversation") from exc
    held = tickets.active_for(sender_id)
    return UpdatesResponse(
        messages=[ChatUpdate(id=m.id, role=m.role, text=m.text) for m in said],
        handover=handover_state(held) if held else None,
    )


@router.get("/api/chat/history", response_model=HistoryResponse)
def history(request: Request, citizens: CitizensDep, journal: JournalDep, tickets: TicketsDep) -> HistoryResponse:
    """The citizen's conversation so far (masked, as kept), oldest first, for a page that was reloaded; nothing
    without a cookie. A tapped choice reads as its title, as the citizen saw it, not as its payload."""
    sender_id = citizens.of(request)
    if sender_id is None:
        return HistoryResponse(messages=[], handover=None)
    kept = journal.messages(sender_id, HISTORY_MESSAGES)
    held = tickets.active_for(sender_id)
    shown = [HistoryMessage(id=m.id, role=m.role, text=m.text, kind=m.kind,
                            buttons=[Button(title=t, payload=p) for t, p in m.buttons]) for m in in_people_s_words(kept)]
    return HistoryResponse(messages=shown, handover=handover_state(held) if held else None)


def handover_state(ticket: Ticket) -> HandoverState:
    return HandoverState(ticket=ticket.number, status=ticket.status, reply_due_at=ticket.reply_due_at.isoformat())
