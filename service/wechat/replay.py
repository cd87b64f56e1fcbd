"""Each signed request from the WeChat server is good once, and only for a few minutes.

The signature covers the token, ``timestamp`` and ``nonce`` (and in safe mode
the ciphertext), so on its own it says who signed, not when: a request seen
once (a proxy's log, a capture) would pass forever, and in plain mode with any
body. ``ReplayGuard`` closes that after the signature is checked:

* the signed ``timestamp`` must be within ``max_skew_s`` (5 minutes) of our
  clock, either way (WeChat's clock and ours are both NTP-set);
* the pair ``timestamp:nonce`` is claimed once; a second request with it
  inside the window is refused. The claims outlive the window (twice the
  skew from the first sight), so a pair cannot come back once forgotten: by
  then its timestamp is stale.

With several API workers the claims live in Redis, like the message claims of
``service.wechat.dedupe`` (see ``build_channel``).

This takes WeChat's retries of a message (same MsgId, after 5 s without an
answer) to be signed afresh. Were one to come with its first request's
timestamp and nonce it would be refused here; the channel answers within
``wechat_reply_budget_s`` (under those 5 s) or hands the answer to the
customer-service API, so retries are rare, and the answer is not lost.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from service.wechat.crypto import ReplayedRequest, StaleRequest
from service.wechat.dedupe import MessageClaims

logger = logging.getLogger(__name__)

MAX_SKEW_S = 300  # WeChat Pay asks for 5 minutes on its callbacks; the same holds here
MAX_NONCE_CHARS = 64  # WeChat's are 9 to 10 digits; a key is never longer than this


def nonce_lifetime_s(max_skew_s: float) -> int:
    """How long a claimed nonce must be kept: until its timestamp can no longer be fresh."""
    return int(2 * max_skew_s) + 1


class ReplayGuard:
    """Refuses signed requests that are stale, or whose timestamp and nonce were already used."""

    def __init__(self, claims: MessageClaims, *, max_skew_s: float = MAX_SKEW_S,
                 clock: Callable[[], float] = time.time):
        if max_skew_s <= 0:
            raise ValueError(f"max_skew_s must be > 0, got {max_skew_s}")
        self._claims = claims
        self._skew = max_skew_s
        self._clock = clock

    def check_fresh(self, timestamp: str) -> None:
        """Raise ``StaleRequest`` unless ``timestamp`` (Unix seconds) is within the skew of our clock."""
        if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
            raise StaleRequest("the timestamp is missing or not Unix seconds", reason="bad timestamp")
        offset = int(timestamp) - self._clock()
        if abs(offset) > self._skew:
            raise StaleRequest(f"timestamp {timestamp} is {offset:+.0f} s from our clock "
                               f"(allowed ±{self._skew:.0f} s)")

    async def admit(self, query: Mapping[str, str]) -> None:
        """Let a request whose signature was checked through once: fresh, and its nonce not seen before."""
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        self.check_fresh(timestamp)
        if not nonce or len(nonce) > MAX_NONCE_CHARS:
            raise ReplayedRequest("the nonce is missing or too long", reason="bad nonce")
        if not await self._claims.first(f"{timestamp}:{nonce}"):
            raise ReplayedRequest(f"timestamp {timestamp} and nonce {nonce} were already used")

    async def aclose(self) -> None:
        await self._claims.aclose()
