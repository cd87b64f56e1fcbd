"""Playing many citizens from one machine: each a client of its own, holding the cookie the server issued.

A benchmark or an integration test sends every citizen's messages from one
address, which the per-address limits (messages a minute, hand-overs an hour)
would rightly take for a flood; its instances raise them.
"""

from __future__ import annotations

import httpx

from service.citizens import CITIZEN_COOKIE

ONE_ADDRESS_MANY_CITIZENS = {"chat_messages_per_address_per_minute": 1_000_000,
                             "handovers_per_address_per_hour": 1_000_000}


def citizen_id(client: httpx.Client | httpx.AsyncClient) -> str | None:
    """The web citizen id the server issued this client (its cookie is ``id.signature``); None before it spoke."""
    cookie = client.cookies.get(CITIZEN_COOKIE)
    return cookie.rpartition(".")[0] if cookie else None


class WebCitizens:
    """Web citizens by label, each an ``httpx.Client`` of its own on ``api_url`` (its own cookie)."""

    def __init__(self, api_url: str, timeout_s: float = 60.0):
        self._api_url = api_url
        self._timeout_s = timeout_s
        self._clients: dict[str, httpx.Client] = {}

    def client(self, label: str) -> httpx.Client:
        if label not in self._clients:
            self._clients[label] = httpx.Client(base_url=self._api_url, timeout=self._timeout_s)
        return self._clients[label]

    def say(self, label: str, text: str) -> httpx.Response:
        return self.client(label).post("/api/chat", json={"text": text})

    def id_of(self, label: str) -> str | None:
        return citizen_id(self.client(label))

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
