"""Talking to the Rasa server over its REST channel.

The channel, not Rasa, owns timeouts: a citizen waiting on a hung dialogue
server gets a clear "try again" instead of a spinner.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from service.errors import AssistantUnavailable

logger = logging.getLogger(__name__)


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
