"""Talking to the Rasa server over its REST channel, and pausing or resuming a conversation.

The channel, not Rasa, owns timeouts: a citizen waiting on a hung dialogue
server gets a clear "try again" instead of a spinner. ``pause`` and ``resume``
add an event to the conversation's tracker through Rasa's HTTP API (the server
runs with ``--enable-api``): staff taking a conversation over pause the bot,
closing or handing back the ticket resumes it.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx

from service.errors import AssistantUnavailable

logger = logging.getLogger(__name__)

_PATH_SAFE = ":@!$&'()*+,;="  # with letters, digits and "-._~": RFC 3986's pchar
# The server refused the connection, or dropped it without a word (killed while we waited): the next one
# takes the message. A slow answer (read timeout) is not among them: that server may still be handling it.
GONE = (httpx.ConnectError, httpx.ConnectTimeout, httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)


class RasaClient:
    """One Rasa server, or several (production mode) sharing one tracker store and Redis lock store.

    A conversation goes to the server its sender id hashes to, so its messages
    normally meet one server; when that server refuses the connection, or drops
    it without answering (killed mid-request), the next one takes the message
    from the tracker they share. A dropped message may have been half handled;
    sending it on is what the citizen would do anyway, and what the actions do
    to bookings and tickets is idempotent. A server that answered with an error,
    timed out or answered nothing is not retried: the citizen is asked to try again, as the message may have been
    handled (what it did to a booking or a ticket is idempotent, so the retry
    is safe).
    """

    def __init__(self, base_url: str | Sequence[str], timeout_s: float,
                 transport: httpx.AsyncBaseTransport | None = None, token: str | None = None):
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        if not urls:
            raise ValueError("RasaClient needs at least one Rasa server URL")
        # Rasa's HTTP API (status, tracker events) takes its token in the query string only; the REST
        # channel's webhook takes none. URLs carrying it are never logged.
        self._auth = {"token": token} if token else {}
        self._clients = [httpx.AsyncClient(base_url=url, timeout=timeout_s, transport=transport) for url in urls]

    def _order(self, sender_id: str) -> list[httpx.AsyncClient]:
        start = zlib.crc32(sender_id.encode()) % len(self._clients)
        return self._clients[start:] + self._clients[:start]

    async def _post(self, sender_id: str, path: str, **kwargs: Any) -> httpx.Response:
        refused: httpx.HTTPError | None = None
        for client in self._order(sender_id):
            try:
                response = await client.post(path, **kwargs)
            except GONE as exc:
                logger.warning("Rasa server %s is gone (%s); trying the next", client.base_url, exc.__class__.__name__)
                refused = exc
                continue
            response.raise_for_status()
            return response
        assert refused is not None
        raise refused

    async def send(self, sender_id: str, text: str, metadata: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The bot's replies to ``text``; ``metadata`` reaches the actions as the message's metadata."""
        body: dict[str, Any] = {"sender": sender_id, "message": text}
        if metadata:
            body["metadata"] = metadata
        try:
            response = await self._post(sender_id, "/webhooks/rest/webhook", json=body)
        except httpx.HTTPError as exc:
            logger.warning("Rasa did not answer for sender %s: %s", sender_id, exc.__class__.__name__)
            raise AssistantUnavailable("助手暂时无法回复，请稍后再试。") from exc
        body = response.json()
        replies = body if isinstance(body, list) else []
        if not replies:
            # Every turn of our bot says something; Rasa answers nothing when an action failed (its action
            # server down, the database gone): the action's events were dropped, the tracker is as before.
            logger.warning("Rasa answered nothing for sender %s (an action failed?)", sender_id)
            raise AssistantUnavailable("助手暂时无法回复，请稍后再试。")
        return replies

    async def resume(self, sender_id: str) -> None:
        """Un-pause a conversation an earlier version paused at its hand-over, ready for the next message.

        Rasa predicts nothing while paused, so the paused tracker ends on the hand-over action rather than on
        ``action_listen``; resumed as it is, the next message meets a state no rule knows and falls back (the
        old "a closed ticket opens a new one"). The listen is added with the resume. Today's hand-over does
        not pause: the service routes by the ticket's state.
        """
        # Rasa's server (Sanic) does not percent-decode the id in the path: "wechat%3Ao…" would be another
        # conversation. Every character a path segment may hold goes as it is.
        path = f"/conversations/{quote(sender_id, safe=_PATH_SAFE)}/tracker/events"
        events = [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
        try:
            await self._post(sender_id, path, params={"include_events": "NONE", **self._auth}, json=events)
        except httpx.HTTPError as exc:
            logger.warning("Rasa did not take the resume event for sender %s: %s", sender_id, exc.__class__.__name__)
            raise AssistantUnavailable("助手暂时无法恢复会话，请稍后再试。") from exc

    async def ready(self) -> tuple[bool, str]:
        """Up only when every server is up (each holds its share of conversations)."""
        details = []
        for client in self._clients:
            up, detail = await self._ready(client)
            if not up:
                return False, f"{client.base_url}: {detail}"
            details.append(detail)
        return True, "; ".join(details) if len(details) > 1 else details[0]

    async def _ready(self, client: httpx.AsyncClient) -> tuple[bool, str]:
        try:
            response = await client.get("/status", params=self._auth, timeout=3.0)
        except httpx.HTTPError as exc:
            return False, f"unreachable ({exc.__class__.__name__})"
        if response.status_code != 200:
            return False, f"status {response.status_code}"
        model_file = response.json().get("model_file")
        return (True, f"model {model_file}") if model_file else (False, "no model loaded")

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()
