"""Talking to the Rasa server over its REST channel, and pausing or resuming a conversation.

The channel, not Rasa, owns timeouts: a citizen waiting on a hung dialogue
server gets a clear "try again" instead of a spinner. ``pause`` and ``resume``
add an event to the conversation's tracker through Rasa's HTTP API (the server
runs with ``--enable-api``): staff taking a conversation over pause the bot,
closing or handing back the ticket resumes it.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import httpx

from service.errors import AssistantUnavailable

logger = logging.getLogger(__name__)

_PATH_SAFE = ":@!$&'()*+,;="  # with letters, digits and "-._~": RFC 3986's pchar


class RasaClient:
    def __init__(self, base_url: str, timeout_s: float, transport: httpx.AsyncBaseTransport | None = None):
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout_s, transport=transport)

    async def send(self, sender_id: str, text: str) -> list[dict[str, Any]]:
        try:
            response = await self._client.post("/webhooks/rest/webhook", json={"sender": sender_id, "message": text})
            response.raise_for_status()
        except httpx.HTTPError as exc:
            logger.warning("Rasa did not answer for sender %s: %s", sender_id, exc.__class__.__name__)
            raise AssistantUnavailable("助手暂时无法回复，请稍后再试。") from exc
        body = response.json()
        return body if isinstance(body, list) else []

    async def pause(self, sender_id: str) -> None:
        """The bot stops answering this sender until ``resume``; ``AssistantUnavailable`` when Rasa fails."""
        await self._add_event(sender_id, "pause")

    async def resume(self, sender_id: str) -> None:
        """The bot answers this sender again (after a hand-over paused it)."""
        await self._add_event(sender_id, "resume")

    async def _add_event(self, sender_id: str, event: str) -> None:
        # Rasa's server (Sanic) does not percent-decode the id in the path: "wechat%3Ao…" would be another
        # conversation. Every character a path segment may hold goes as it is.
        path = f"/conversations/{quote(sender_id, safe=_PATH_SAFE)}/tracker/events"
        try:
            response = await self._client.post(path, params={"include_events": "NONE"}, json={"event": event})
            response.raise_for_status()
        except httpx.HTTPError as exc:
            logger.warning("Rasa did not take the %s event for sender %s: %s", event, sender_id, exc.__class__.__name__)
            raise AssistantUnavailable(f"助手暂时无法{'暂停' if event == 'pause' else '恢复'}会话，请稍后再试。") from exc

    async def ready(self) -> tuple[bool, str]:
        try:
            response = await self._client.get("/status", timeout=3.0)
        except httpx.HTTPError as exc:
            return False, f"unreachable ({exc.__class__.__name__})"
        if response.status_code != 200:
            return False, f"status {response.status_code}"
        model_file = response.json().get("model_file")
        return (True, f"model {model_file}") if model_file else (False, "no model loaded")

    async def aclose(self) -> None:
        await self._client.aclose()
