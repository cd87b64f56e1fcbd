"""Citizens in tests: each label is a browser of its own, holding the cookie the server issued it.

The API takes no sender id from a request; a test that plays two citizens plays
two browsers on the same app.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient

from bench.clients import citizen_id
from service.citizens import CITIZEN_COOKIE


def browser(client: TestClient, label: str) -> TestClient:
    """The browser a test calls ``label``, on ``client``'s app (made on first use, kept for the test)."""
    browsers: dict[str, TestClient] = client.__dict__.setdefault("_citizen_browsers", {})
    if label not in browsers:
        browsers[label] = TestClient(client.app, base_url=str(client.base_url))
    return browsers[label]


def say(client: TestClient, label: str, text: str, **extra: Any) -> httpx.Response:
    return browser(client, label).post("/api/chat", json={"text": text, **extra})


def updates(client: TestClient, label: str, after: str = "") -> httpx.Response:
    return browser(client, label).get("/api/chat/updates", params={"after": after} if after else None)


def rate(client: TestClient, label: str, message_id: str, useful: bool | None = None, **extra: Any) -> httpx.Response:
    body: dict[str, Any] = {"message_id": message_id, **extra}
    if useful is not None:
        body["useful"] = useful
    return browser(client, label).post("/api/ratings", json=body)


def sender_of(client: TestClient, label: str) -> str:
    """The id the server issued the browser ``label``; one is issued now if it has sent nothing yet (a test
    that sets up a ticket before the citizen speaks), signed with the app's own key as the server would."""
    citizen = browser(client, label)
    issued = citizen_id(citizen)
    if issued is None:
        citizens = client.app.state.citizens
        issued = citizens.new_id()
        citizen.cookies.set(CITIZEN_COOKIE, citizens.sign(issued), domain="testserver.local", path="/api")
    return issued
