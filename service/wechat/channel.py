"""What the official account does with each message, and how its answer reaches the citizen.

A text message takes the web chat's path (``service.conversation``: rate
limit per openid, journal, the person holding the ticket or else the bot; a
typed number or word is read against the last menu, as on the web). The answer goes back as the passive reply when the bot is
done within ``reply_budget_s`` and the answer fits one text; otherwise the
request is answered ``success`` and the answer follows through the
customer-service API, from a task that outlives the request. Retries of a
message (same MsgId) share its answer instead of asking the bot again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from wechatpy.events import SubscribeEvent, SubscribeScanEvent, UnsubscribeEvent
from wechatpy.messages import BaseMessage, TextMessage

from service.conversation import Conversations
from service.errors import AssistantUnavailable, TooManyMessages
from service.wechat.customer_service import CustomerService, CustomerServiceError
from service.wechat.dedupe import Deduper, InFlight, LocalClaims, MessageClaims
from service.wechat.menus import welcome
from service.wechat.render import render, render_text

logger = logging.getLogger(__name__)
T = TypeVar("T")

SENDER_PREFIX = "wechat:"
CHANNEL = "wechat"
ONLY_TEXT = "目前只能处理文字消息，请用文字描述您要办的事。"
SORRY = "系统出了点问题，请稍后再试，或拨打12345政务服务便民热线。"


@dataclass(frozen=True)
class Answer:
    """What the citizen gets for one message: texts that fit WeChat's limits, or none (held by a person)."""

    parts: tuple[str, ...]


class WeChatChannel:
    def __init__(self, *, reply_budget_s: float, customer_service: CustomerService | None,
                 dedupe: Deduper[Answer] | None = None, claims: MessageClaims | None = None):
        if reply_budget_s <= 0:
            raise ValueError(f"reply_budget_s must be > 0, got {reply_budget_s}")
        self._budget = reply_budget_s
        self._customer_service = customer_service
        self._dedupe: Deduper[Answer] = dedupe or Deduper()
        self._claims: MessageClaims = claims or LocalClaims()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False

    async def handle(self, message: BaseMessage, *, conversations: Conversations,
                     received: float | None = None) -> str | None:
        """The passive reply's text, or None to answer ``success`` (nothing now, or more later)."""
        received = time.monotonic() if received is None else received
        openid = str(message.source or "")
        if isinstance(message, (SubscribeEvent, SubscribeScanEvent)):
            greeting = welcome()
            if openid:  # kept as the bot's turn: "1" then picks from its menu
                await conversations.greet(SENDER_PREFIX + openid, CHANNEL, greeting.parts[0],
                                          [(c.title, c.payload) for c in greeting.choices])
            return greeting.parts[0]
        if isinstance(message, UnsubscribeEvent):
            return None
        if message.type == "event":
            return None
        if not isinstance(message, TextMessage):
            return ONLY_TEXT
        text = (message.content or "").strip()
        if not openid or not text:
            return None
        key = str(message.id) if message.id else f"{openid}:{message.time}"
        if not self._dedupe.holds(key) and not await self._claims.first(key):
            logger.info("WeChat retried message %s on another worker: that worker answers", key)
            return None
        entry, new = self._dedupe.claim(key, lambda: self._spawn(self._answer(openid, text, conversations)))
        if not new:
            logger.info("WeChat retried message %s (%s)", key, entry.route)
        return await self._deliver(entry, openid, received)

    async def aclose(self) -> None:
        """Stop answers still under way (server shut-down) and close the API client."""
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._customer_service is not None:
            await self._customer_service.aclose()
        await self._claims.aclose()

    async def _deliver(self, entry: InFlight[Answer], openid: str, received: float) -> str | None:
        if entry.route != "open":
            return entry.passive
        remaining = self._budget - (time.monotonic() - received)
        try:
            answer = await asyncio.wait_for(asyncio.shield(entry.task), timeout=max(remaining, 0.0))
        except TimeoutError:
            if entry.route == "open":
                logger.info("the bot is slower than %.1f s for %s: the answer follows as a customer-service message",
                            self._budget, openid)
                entry.route = "later"
                self._spawn(self._send_when_done(entry.task, openid))
            return entry.passive
        except asyncio.CancelledError:  # WeChat hung up: the answer must still reach the citizen
            if entry.route == "open" and not self._closing:
                entry.route = "later"
                self._spawn(self._send_when_done(entry.task, openid))
            raise
        if entry.route == "open":
            if len(answer.parts) == 1 or (answer.parts and self._customer_service is None):
                if len(answer.parts) > 1:
                    logger.warning("only the first of %d parts reaches %s: the customer-service API needs "
                                   "wechat_app_id and wechat_app_secret", len(answer.parts), openid)
                entry.route, entry.passive = "passive", answer.parts[0]
            else:
                entry.route = "later"
                if answer.parts:
                    self._spawn(self._send(openid, answer.parts))
        return entry.passive

    async def _answer(self, openid: str, text: str, conversations: Conversations) -> Answer:
        sender = SENDER_PREFIX + openid
        try:
            try:
                turn = await conversations.take(sender, CHANNEL, text)
            except (AssistantUnavailable, TooManyMessages) as exc:
                return Answer(parts=render_text(str(exc)).parts)
            if not turn.replies:  # kept for the person holding the conversation
                return Answer(parts=())
            rendered = render([{"text": m.text, "buttons": [b.model_dump() for b in m.buttons]}
                               for m in turn.replies])
            return Answer(parts=rendered.parts)
        except Exception:  # the citizen gets an apology rather than silence; the cause goes to the log
            logger.exception("answering a WeChat message from %s failed", sender)
            return Answer(parts=(SORRY,))

    async def _send_when_done(self, task: asyncio.Task[Answer], openid: str) -> None:
        answer = await task
        await self._send(openid, answer.parts)

    async def _send(self, openid: str, parts: tuple[str, ...]) -> None:
        if not parts:
            return
        if self._customer_service is None:
            logger.error("an answer for %s could not be sent: the customer-service API needs wechat_app_id and "
                         "wechat_app_secret", openid)
            return
        for number, part in enumerate(parts, 1):
            try:
                await self._customer_service.send_text(openid, part)
            except CustomerServiceError as exc:
                logger.error("answer for %s not delivered (part %d of %d): %s", openid, number, len(parts), exc)
                return

    def _spawn(self, work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """A task on the server's loop, kept referenced until done (the loop itself keeps only weak ones)."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
