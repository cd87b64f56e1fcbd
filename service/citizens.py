"""Who a web citizen is: an id the server issues, kept by the browser in a signed HttpOnly cookie.

The web chat's conversation id is the citizen's only identity: it holds their
agent's replies, their hand-over ticket and, in the conversation that booked
it, their booking. So it is never taken from the request. The server draws it
(``secrets``, 128 bits) on the first message and sets it as a cookie signed with
the API's key (HMAC-SHA256): the page's script cannot read it (HttpOnly), another
site's form cannot send it (SameSite), and an id made up by the client, or one
from another channel ("wechat:<openid>"), is not accepted because it is not
signed. A cookie that fails its signature is treated as no cookie: the citizen
starts a new conversation rather than being refused.

WeChat ids never come from here: they come only from a message WeChat signed
(``service.routes.wechat``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

from fastapi import Request, Response

logger = logging.getLogger(__name__)

CITIZEN_COOKIE = "daoban_citizen"
WEB_PREFIX = "web-"
ID_BYTES = 16  # 128 bits: no one guesses another citizen's id
COOKIE_PATH = "/api"
COOKIE_MAX_AGE_S = 180 * 24 * 3600  # as long as a transcript is kept by default; the citizen can always start anew


@dataclass(frozen=True)
class CitizenCookies:
    """Issues web citizen ids and reads them back from their signed cookie."""

    key: bytes

    def __post_init__(self) -> None:
        if len(self.key) < 16:
            raise ValueError("the citizen cookie key needs at least 16 bytes")

    def new_id(self) -> str:
        return WEB_PREFIX + secrets.token_urlsafe(ID_BYTES)

    def sign(self, citizen_id: str) -> str:
        return f"{citizen_id}.{self._mac(citizen_id)}"

    def read(self, cookie: str | None) -> str | None:
        """The citizen id a cookie carries, or None when it is missing, malformed or not signed by us."""
        if not cookie or "." not in cookie:
            return None
        citizen_id, _, mac = cookie.rpartition(".")
        if not citizen_id.startswith(WEB_PREFIX) or not hmac.compare_digest(mac, self._mac(citizen_id)):
            return None
        return citizen_id

    def of(self, request: Request) -> str | None:
        return self.read(request.cookies.get(CITIZEN_COOKIE))

    def issue(self, request: Request, response: Response) -> str:
        """The request's citizen, or a new one whose cookie goes out with ``response``."""
        known = self.of(request)
        if known is not None:
            return known
        if request.cookies.get(CITIZEN_COOKIE):
            logger.info("a citizen cookie failed its signature; issuing a new conversation")
        citizen_id = self.new_id()
        response.set_cookie(
            CITIZEN_COOKIE, self.sign(citizen_id), max_age=COOKIE_MAX_AGE_S, path=COOKIE_PATH, httponly=True,
            samesite="strict", secure=request.url.scheme == "https",
        )
        return citizen_id

    def _mac(self, citizen_id: str) -> str:
        digest = hmac.new(self.key, citizen_id.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
