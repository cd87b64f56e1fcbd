"""WeChat's customer-service message API (客服消息): answers that could not go back as the passive reply.

An access token comes from ``/cgi-bin/token`` and is kept until shortly before
it expires; a text goes to ``/cgi-bin/message/custom/send``. WeChat answers
errors with HTTP 200 and an ``errcode``; a failed send is logged and tried once
more (with a fresh token when WeChat says the token is no longer valid), then
``CustomerServiceError`` is raised. Neither the secret nor a token is ever
logged: both travel in URLs, so only the exception's class and WeChat's code are.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

logger = logging.getLogger(__name__)

TOKEN_MARGIN_S = 300.0  # renew this long before WeChat says the token expires
_TOKEN_REJECTED = frozenset({40001, 40014, 42001})  # invalid credential, invalid token, token expired


class CustomerServiceError(Exception):
    def __init__(self, reason: str, *, errcode: int | None = None):
        super().__init__(reason if errcode is None else f"{reason} (errcode {errcode})")
        self.errcode = errcode


class CustomerService:
    def __init__(
        self, base_url: str, app_id: str, app_secret: str, *, transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 5.0, clock: Callable[[], float] = time.monotonic,
    ):
        if not app_id or not app_secret:
            raise ValueError("the customer-service API needs both the AppID and the AppSecret")
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout_s, transport=transport)
        self._app_id = app_id
        self._app_secret = app_secret
        self._clock = clock
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    async def send_text(self, openid: str, content: str) -> None:
        body = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        for attempt in (1, 2):
            try:
                await self._post("/cgi-bin/message/custom/send", body)
                return
            except CustomerServiceError as exc:
                logger.warning("customer-service message to %s failed (attempt %d of 2): %s", openid, attempt, exc)
                if attempt == 2:
                    raise
                if exc.errcode in _TOKEN_REJECTED:
                    self._token = None

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _post(self, path: str, body: dict[str, Any]) -> None:
        token = await self._access_token()
        # UTF-8 as it is: some WeChat APIs show \uXXXX escapes to the citizen literally
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        answer = await self._call("POST", path, params={"access_token": token}, content=data,
                                  headers={"Content-Type": "application/json; charset=utf-8"})
        if answer.get("errcode", 0) != 0:
            raise CustomerServiceError(f"WeChat refused the message: {answer.get('errmsg', '')}",
                                       errcode=int(answer["errcode"]))

    async def _access_token(self) -> str:
        async with self._token_lock:  # one fetch at a time: concurrent sends share the new token
            if self._token is None or self._clock() >= self._token_expires:
                answer = await self._call("GET", "/cgi-bin/token", params={
                    "grant_type": "client_credential", "appid": self._app_id, "secret": self._app_secret,
                })
                token = answer.get("access_token")
                if not token:
                    raise CustomerServiceError(f"no access token: {answer.get('errmsg', '')}",
                                               errcode=answer.get("errcode"))
                expires_in = float(answer.get("expires_in") or 7200)
                self._token = str(token)
                self._token_expires = self._clock() + max(expires_in - TOKEN_MARGIN_S, expires_in / 2)
            return self._token

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._client.request(method, path, **kwargs)
            response.raise_for_status()
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:  # the exception's text would carry the URL, with secrets
            raise CustomerServiceError(f"{path}: {exc.__class__.__name__}") from None
        if not isinstance(answer, dict):
            raise CustomerServiceError(f"{path}: the answer is not a JSON object")
        return answer
