"""The hotline agent console's API: handover tickets, recent conversations, taking a conversation over.

Role ``agent`` (admins pass too): 401 without a login, 403 for other roles. An
unknown ticket is 404, a move its state does not allow (reply before take, take
a ticket someone else holds) 409.

What a person says reaches the citizen two ways: it is kept in the journal
(role ``agent``), where the web page polls it from ``/api/chat/updates``, and a
WeChat citizen (sender ``wechat:<openid>``) gets it as a customer-service
message. Stored and sent text is masked like every stored message: mobile and
ID numbers read 138****5678. Who answers the citizen is the ticket's state,
which ``service.conversation`` reads for every message: a taken ticket's
messages go to the person, the bot answers again once it is closed or handed
back (the citizen is told). Closing also un-pauses a Rasa conversation that an
earlier version paused; a Rasa failure there is logged, not fatal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from starlette.concurrency import run_in_threadpool

from hall.errors import TicketNotFound, TicketStateError
from hall.privacy import mask_text
from hall.tickets import Ticket
from journal.log import ChatJournal, in_people_s_words
from service.console_schemas import (
    ConversationListOut,
    ConversationOut,
    ReplyRequest,
    TakeoverRequest,
    TicketDetailOut,
    TicketListOut,
    TicketMessageOut,
    TicketOut,
)
from service.deps import (
    CurrentAgent,
    JournalDep,
    RasaDep,
    SettingsDep,
    StoreDep,
    TicketsDep,
    require_role,
)
from service.errors import AssistantUnavailable
from service.rasa_client import RasaClient
from service.wechat.channel import SENDER_PREFIX
from service.wechat.render import render_text

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/agent", tags=["agent"], dependencies=[Depends(require_role("agent"))])

JOINED_TEXT = "工作人员已接入，正在为您服务。"
ENDED_TEXT = "人工服务已结束，智能客服继续为您服务。"
TRANSCRIPT_MESSAGES = 50  # how much of a conversation a takeover ticket carries

NumberPath = Annotated[str, Path(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9]+$")]
StatusQuery = Annotated[str | None, Query(pattern="^(waiting|taken|closed|handed_back)$")]
T = TypeVar("T")


@router.get("/tickets", response_model=TicketListOut)
def list_tickets(tickets: TicketsDep, status: StatusQuery = None) -> TicketListOut:
    now = _now()
    return TicketListOut(tickets=[_summary(t, now) for t in tickets.list(status)])


@router.get("/tickets/{number}", response_model=TicketDetailOut)
def get_ticket(number: NumberPath, tickets: TicketsDep) -> TicketDetailOut:
    with _desk_errors():
        return _detail(tickets.get(number))


@router.post("/tickets/{number}/take", response_model=TicketDetailOut)
async def take(number: NumberPath, request: Request, tickets: TicketsDep, journal: JournalDep,
               agent: CurrentAgent) -> TicketDetailOut:
    before = await _desk(tickets.get, number)
    ticket = await _desk(tickets.take, number, agent.username, _now())
    if (before.status, before.assignee) != (ticket.status, ticket.assignee):
        await _tell_citizen(request, journal, ticket, "system", JOINED_TEXT)
    return _detail(ticket)


@router.post("/tickets/{number}/reply", response_model=TicketDetailOut)
async def reply(number: NumberPath, body: ReplyRequest, request: Request, tickets: TicketsDep, journal: JournalDep,
                agent: CurrentAgent) -> TicketDetailOut:
    ticket = await _desk(tickets.reply, number, agent.username, body.text, _now())
    await _tell_citizen(request, journal, ticket, "agent", body.text)
    return _detail(ticket)


@router.post("/tickets/{number}/close", response_model=TicketDetailOut)
async def close(number: NumberPath, request: Request, tickets: TicketsDep, journal: JournalDep,
                rasa: RasaDep) -> TicketDetailOut:
    before = await _desk(tickets.get, number)
    ticket = await _desk(tickets.close, number, _now())
    if before.active:  # a handed-back ticket's conversation is the bot's already
        await _back_to_bot(request, journal, rasa, ticket)
    return _detail(ticket)


@router.post("/tickets/{number}/hand-back", response_model=TicketDetailOut)
async def hand_back(number: NumberPath, request: Request, tickets: TicketsDep, journal: JournalDep,
                    rasa: RasaDep) -> TicketDetailOut:
    ticket = await _desk(tickets.hand_back, number, _now())
    await _back_to_bot(request, journal, rasa, ticket)
    return _detail(ticket)


@router.get("/conversations", response_model=ConversationListOut)
def conversations(journal: JournalDep, tickets: TicketsDep,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50) -> ConversationListOut:
    held = {t.sender_id for state in ("waiting", "taken") for t in tickets.list(state)}
    return ConversationListOut(conversations=[
        ConversationOut(sender_id=c.sender_id, channel=c.channel, last_text=c.last_text, last_at=c.last_at,
                        held=c.sender_id in held)
        for c in journal.recent_conversations(limit)
    ])


@router.post("/takeover", response_model=TicketDetailOut)
async def takeover(body: TakeoverRequest, request: Request, tickets: TicketsDep, journal: JournalDep,
                   store: StoreDep, settings: SettingsDep, agent: CurrentAgent) -> TicketDetailOut:
    """Open (or find) the citizen's ticket with reason ``agent_takeover`` and take it: the person now answers."""
    sender = body.sender_id
    history = await run_in_threadpool(journal.messages, sender, TRANSCRIPT_MESSAGES)
    active = await run_in_threadpool(tickets.active_for, sender)
    if not history and active is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no conversation with sender {sender!r}")
    item_code = next((m.item_code for m in reversed(history) if m.item_code), None)
    item_name = await run_in_threadpool(store.name_of, item_code)
    opened = await _desk(
        tickets.open, sender_id=sender, channel=_channel(sender), reason="agent_takeover", item_code=item_code,
        item_name=item_name, district=None, missing_materials=[],
        transcript=[(m.role, m.text) for m in in_people_s_words(history)],
        now=_now(), reply_within=timedelta(minutes=settings.handover_reply_minutes),
    )
    ticket = await _desk(tickets.take, opened.number, agent.username, _now())
    if (opened.status, opened.assignee) != (ticket.status, ticket.assignee):
        await _tell_citizen(request, journal, ticket, "system", JOINED_TEXT)
    logger.info("%s took over the conversation of %s (ticket %s)", agent.username, sender, ticket.number)
    return _detail(ticket)


# ---- helpers ----------------------------------------------------------------------------------------------------

def _now() -> datetime:
    return datetime.now(timezone.utc)


def _channel(sender_id: str) -> str:
    return "wechat" if sender_id.startswith(SENDER_PREFIX) else "web"


@contextmanager
def _desk_errors() -> Iterator[None]:
    try:
        yield
    except TicketNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except TicketStateError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc


async def _desk(call: Callable[..., T], *args: object, **kwargs: object) -> T:
    """A (blocking) ticket desk call off the event loop, its errors as 404 / 409."""
    with _desk_errors():
        return await run_in_threadpool(call, *args, **kwargs)



async def _back_to_bot(request: Request, journal: ChatJournal, rasa: RasaClient, ticket: Ticket) -> None:
    try:
        await rasa.resume(ticket.sender_id)
    except AssistantUnavailable:
        logger.error("ticket %s: the bot could not resume the conversation of %s", ticket.number, ticket.sender_id)
    await _tell_citizen(request, journal, ticket, "system", ENDED_TEXT)


async def _tell_citizen(request: Request, journal: ChatJournal, ticket: Ticket, role: str, text: str) -> None:
    """Keep the message for the web page's polling; send it to a WeChat citizen as a customer-service message."""
    sender = ticket.sender_id
    await run_in_threadpool(journal.record, sender, _channel(sender), role, text, now=_now())
    wechat = request.app.state.wechat
    if sender.startswith(SENDER_PREFIX) and wechat is not None:
        # the channel's own sender: it shares the access token with the bot's answers and logs a failed send
        # masked as the journal keeps it: a WeChat citizen reads what a web citizen reads
        await wechat.channel._send(sender[len(SENDER_PREFIX):], render_text(mask_text(text)).parts)


def _summary(ticket: Ticket, now: datetime) -> TicketOut:
    return TicketOut(
        number=ticket.number, status=ticket.status, reason=ticket.reason, channel=ticket.channel,
        sender_id=ticket.sender_id, item_code=ticket.item_code, item_name=ticket.item_name, district=ticket.district,
        missing_materials=list(ticket.missing_materials), created_at=ticket.created_at,
        reply_due_at=ticket.reply_due_at, first_response_seconds=ticket.first_response_seconds,
        overdue=ticket.overdue(now), assignee=ticket.assignee,
    )


def _detail(ticket: Ticket) -> TicketDetailOut:
    return TicketDetailOut(
        **_summary(ticket, _now()).model_dump(),
        messages=[TicketMessageOut(role=m.role, text=m.text, at=m.at) for m in ticket.messages],
    )
