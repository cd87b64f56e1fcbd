"""Request and response shapes of the consoles' routes (docs/consoles-api.md): chat updates, ratings,
the agent console and the editors' preview and to-do list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from service.schemas import Button, HandoverState

SenderId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]
MessageId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9]+$")]


# ---- citizen ----------------------------------------------------------------------------------------------------

class ChatUpdate(BaseModel):
    """A message a person (``agent``) or the service (``system``) sent the citizen."""

    id: str
    role: str
    text: str
    buttons: list[Button] = Field(default_factory=list)


class HistoryMessage(BaseModel):
    """A message of the conversation as the page shows it again after a reload."""

    id: str
    role: str  # citizen, bot, agent, system
    text: str
    kind: str | None = None
    buttons: list[Button] = Field(default_factory=list)


class HistoryResponse(BaseModel):
    messages: list[HistoryMessage]
    handover: HandoverState | None = None


class UpdatesResponse(BaseModel):
    messages: list[ChatUpdate]
    handover: HandoverState | None = None


class RatingRequest(BaseModel):
    """The rating of a message; whose it is comes from the citizen's cookie, never from here."""

    model_config = ConfigDict(extra="forbid")

    message_id: MessageId
    useful: bool
    reason: str | None = Field(default=None, max_length=200)


class RatingResponse(BaseModel):
    message_id: str
    useful: bool


# ---- hotline agent ----------------------------------------------------------------------------------------------

class TicketOut(BaseModel):
    number: str
    status: str
    reason: str
    channel: str
    sender_id: str
    item_code: str | None
    item_name: str | None
    district: str | None
    missing_materials: list[str]
    created_at: datetime
    reply_due_at: datetime
    first_response_seconds: float | None
    overdue: bool
    assignee: str | None


class TicketMessageOut(BaseModel):
    role: str
    text: str
    at: datetime


class TicketDetailOut(TicketOut):
    messages: list[TicketMessageOut]


class TicketListOut(BaseModel):
    tickets: list[TicketOut]


class ReplyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=2000)


class ConversationOut(BaseModel):
    sender_id: str
    channel: str
    last_text: str
    last_at: datetime
    held: bool


class ConversationListOut(BaseModel):
    conversations: list[ConversationOut]


class TakeoverRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sender_id: SenderId


# ---- editor -----------------------------------------------------------------------------------------------------

class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record: dict[str, Any]
    question: str = Field(min_length=1, max_length=2000)


class PreviewReply(BaseModel):
    text: str
    buttons: list[Button]


class RetrievalHit(BaseModel):
    code: str
    name: str
    score: float


class PreviewRetrieval(BaseModel):
    decision: str
    top: list[RetrievalHit]


class PreviewResponse(BaseModel):
    aspect: str
    reply: PreviewReply
    retrieval: PreviewRetrieval
    would_answer_this_record: bool


class TodoGroupOut(BaseModel):
    key: str
    kind: str
    count: int
    examples: list[str]
    item_code: str | None
    item_name: str | None
    last_at: datetime


class TodoOut(BaseModel):
    groups: list[TodoGroupOut]
