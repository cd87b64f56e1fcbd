"""Request and response shapes of the public API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sender_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")
    text: str = Field(min_length=1, max_length=2000)


class Button(BaseModel):
    title: str
    payload: str


class ChatMessage(BaseModel):
    """A bot message; ``id`` is its journal id, for ratings (``POST /api/ratings``) and ``/api/chat/updates``."""

    id: str
    text: str = ""
    buttons: list[Button] = Field(default_factory=list)


class HandoverState(BaseModel):
    """Set while a person holds the conversation: the bot stays quiet, the person reads along."""

    ticket: str
    status: str
    reply_due_at: str


class ChatResponse(BaseModel):
    messages: list[ChatMessage]
    handover: HandoverState | None = None


class ComponentHealth(BaseModel):
    up: bool
    detail: str


class HealthResponse(BaseModel):
    status: str
    components: dict[str, ComponentHealth]


class AssistRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=2000)
    district: str | None = Field(default=None, max_length=40)
    top_k: int = Field(default=5, ge=1, le=20)


class AssistCandidate(BaseModel):
    item_id: str
    kind: str
    name: str
    score: float
    snippet: str


class DistrictDetails(BaseModel):
    district: str
    place: str
    window: str
    hours: str
    phone: str
    promised_limit_days: int | None


class AssistAnswer(BaseModel):
    item_id: str
    kind: str
    name: str
    version: int
    updated_at: str
    text: str
    district: DistrictDetails | None = None


class AssistResponse(BaseModel):
    decision: str
    candidates: list[AssistCandidate]
    answer: AssistAnswer | None
    revision: int
