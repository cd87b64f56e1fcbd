"""The WeChat official-account channel (``/wechat``); docs/wechat.md says how to configure the account."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx

from daoban.settings import Settings
from service.wechat.channel import WeChatChannel
from service.wechat.crypto import BadMessage, BadSignature, Gate, WeChatRequestError
from service.wechat.customer_service import CustomerService, CustomerServiceError
from service.wechat.dedupe import LocalClaims, RedisClaims

__all__ = [
    "BadMessage", "BadSignature", "CustomerService", "CustomerServiceError", "Gate", "WeChatChannel",
    "WeChat", "WeChatRequestError", "build_channel",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WeChat:
    """The configured account: the gate its requests pass, and the channel that answers them."""

    gate: Gate
    channel: WeChatChannel

    async def aclose(self) -> None:
        await self.channel.aclose()


def build_channel(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> WeChat | None:
    """The channel for the configured account; None while ``wechat_token`` is unset.

    ``transport`` replaces the network under the customer-service API client (tests pass a fake).
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
    logger.info("WeChat channel on /wechat (%s mode)", "safe" if gate.safe_mode else "plain")
    return WeChat(gate=gate, channel=channel)
