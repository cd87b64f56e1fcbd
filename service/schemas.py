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
    text: str = ""
    buttons: list[Button] = Field(default_factory=list)


class ChatResponse(BaseModel):
    messages: list[ChatMessage]


class ComponentHealth(BaseModel):
    up: bool
    detail: str


class HealthResponse(BaseModel):
    status: str
    components: dict[str, ComponentHealth]
