"""The WeChat official-account channel (``/wechat``); docs/wechat.md says how to configure the account."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from daoban.settings import Settings
from service.wechat.channel import WeChatChannel
from service.wechat.crypto import (
    BadMessage,
    BadSignature,
    Gate,
    Refused,
    ReplayedRequest,
    StaleRequest,
    WeChatRequestError,
)
from service.wechat.customer_service import CustomerService, CustomerServiceError
from service.wechat.dedupe import LocalClaims, LocalOnce, MessageClaims, RedisClaims
from service.wechat.replay import MAX_SKEW_S, ReplayGuard, nonce_lifetime_s

__all__ = [
    "BadMessage", "BadSignature", "CustomerService", "CustomerServiceError", "Gate", "Refused", "ReplayGuard",
    "ReplayedRequest", "StaleRequest", "WeChatChannel", "WeChat", "WeChatRequestError", "build_channel",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WeChat:
    """The configured account: the gate that checks signatures, the guard that lets each signed
    request through once while fresh, and the channel that answers them."""

    gate: Gate
    replays: ReplayGuard
    channel: WeChatChannel

    async def aclose(self) -> None:
        await self.channel.aclose()
        await self.replays.aclose()


def build_channel(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None,
                  clock: Callable[[], float] = time.time) -> WeChat | None:
    """The channel for the configured account; None while ``wechat_token`` is unset.

    ``transport`` replaces the network under the customer-service API client (tests pass a fake);
    ``clock`` is what the signed timestamps are checked against (Unix seconds).
    """
    if not settings.wechat_token:
        return None
    gate = Gate(settings.wechat_token, encoding_aes_key=settings.wechat_encoding_aes_key,
                app_id=settings.wechat_app_id)
    customer_service = None
    if settings.wechat_app_id and settings.wechat_app_secret:
        customer_service = CustomerService(settings.wechat_api_base, settings.wechat_app_id,
                                           settings.wechat_app_secret, transport=transport)
    else:
        logger.warning("WeChat: without wechat_app_id and wechat_app_secret, answers slower than %.1f s are lost "
                       "and long ones are cut to their first part", settings.wechat_reply_budget_s)
    # several API workers (production mode) share who answers a message WeChat sends again
    claims = RedisClaims(settings.redis_url) if settings.mode == "production" else LocalClaims()
    channel = WeChatChannel(reply_budget_s=settings.wechat_reply_budget_s, customer_service=customer_service,
                            claims=claims)
    replays = ReplayGuard(_nonce_claims(settings), max_skew_s=MAX_SKEW_S, clock=clock)
    logger.info("WeChat channel on /wechat (%s mode)", "safe" if gate.safe_mode else "plain")
    return WeChat(gate=gate, replays=replays, channel=channel)


def _nonce_claims(settings: Settings) -> MessageClaims:
    """Used nonces, shared by the API workers in production mode as the message claims are.

    While Redis is away each worker still refuses the nonces it has seen itself.
    """
    ttl_s = nonce_lifetime_s(MAX_SKEW_S)
    local = LocalOnce(ttl_s=ttl_s)
    if settings.mode != "production":
        return local
    return RedisClaims(settings.redis_url, ttl_s=ttl_s, prefix="daoban:wechat:nonce:", fallback=local)
