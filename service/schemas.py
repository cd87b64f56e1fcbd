"""Request and response shapes of the public API."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

# C0 controls but tab and newline, DEL and C1 controls: nothing a citizen means, and NUL breaks PostgreSQL text
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class ChatRequest(BaseModel):
    """A citizen's message. Who they are is not in it: the server issues that (``service.citizens``), and a body
    naming a ``sender_id`` is refused (422) rather than read."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=2000)

    @field_validator("text")
    @classmethod
    def _clean_text(cls, text: str) -> str:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError("text is not valid Unicode (a lone surrogate)") from exc
        cleaned = _CONTROL.sub(" ", text).strip()
        if not cleaned:
            raise ValueError("text has nothing but control characters")
        return cleaned


class Button(BaseModel):
    title: str
    payload: str


class ChatMessage(BaseModel):
    """A bot message; ``id`` is its journal id, for ratings (``POST /api/ratings``) and ``/api/chat/updates``.

    ``kind`` says what it does: ``answer`` (from a guide), ``clarify`` (asks which item, situation or district),
    ``form`` (a booking question), ``booked``, ``lookup``, ``cancelled``, ``handover``, ``decline`` or ``other``;
    ``about`` the codes of the records it answers from or offers.
    """

    id: str
    text: str = ""
    buttons: list[Button] = Field(default_factory=list)
    kind: str | None = None
    about: list[str] = Field(default_factory=list)


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


class Correction(BaseModel):
    typed: str
    read_as: str


class AssistResponse(BaseModel):
    decision: str
    candidates: list[AssistCandidate]
    answer: AssistAnswer | None
    revision: int
    searched: str  # the question as searched, after slips were corrected
    corrections: list[Correction] = []
