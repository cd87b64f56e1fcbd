"""The chat API the web page (and any simple client) uses."""

from __future__ import annotations

from fastapi import APIRouter

from service.deps import RasaDep
from service.schemas import Button, ChatMessage, ChatRequest, ChatResponse

router = APIRouter(tags=["chat"])


@router.post("/api/chat", response_model=ChatResponse)
async def chat(request: ChatRequest, rasa: RasaDep) -> ChatResponse:
    raw = await rasa.send(request.sender_id, request.text)
    messages = [
        ChatMessage(
            text=str(m.get("text") or ""),
            buttons=[Button(title=str(b.get("title", "")), payload=str(b.get("payload", ""))) for b in m.get("buttons") or []],
        )
        for m in raw
        if m.get("text") or m.get("buttons")
    ]
    return ChatResponse(messages=messages)
