"""The API speaks to Rasa's token-protected HTTP API with the token, and to its open webhook without it."""

from __future__ import annotations

import asyncio

import httpx

from service.rasa_client import RasaClient


def _rasa_requiring(token: str, seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/webhooks/rest/webhook":
            return httpx.Response(200, json=[{"text": "您好"}])
        if request.url.params.get("token") != token:
            return httpx.Response(401, json={"message": "User is not authenticated."})
        if request.url.path == "/status":
            return httpx.Response(200, json={"model_file": "m.tar.gz"})
        return httpx.Response(200, json={})
    return httpx.MockTransport(handler)


def test_status_and_resume_carry_the_token_and_the_webhook_does_not():
    seen: list[httpx.Request] = []
    client = RasaClient("http://rasa.test", 5.0, transport=_rasa_requiring("s3cret", seen), token="s3cret")

    async def talk() -> tuple[tuple[bool, str], list[dict]]:
        ready = await client.ready()
        await client.resume("web-abc")
        replies = await client.send("web-abc", "你好")
        await client.aclose()
        return ready, replies

    ready, replies = asyncio.run(talk())
    assert ready == (True, "model m.tar.gz")
    assert replies == [{"text": "您好"}]
    webhook = [r for r in seen if r.url.path == "/webhooks/rest/webhook"]
    assert webhook and all("token" not in r.url.params for r in webhook)


def test_without_the_token_rasa_is_reported_not_ready():
    seen: list[httpx.Request] = []
    client = RasaClient("http://rasa.test", 5.0, transport=_rasa_requiring("s3cret", seen))
    up, detail = asyncio.run(client.ready())
    assert not up and detail.endswith("status 401")
