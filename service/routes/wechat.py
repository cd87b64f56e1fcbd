"""``/wechat``: the URL configured as the official account's server (服务器配置).

GET is WeChat's check of the URL (echo ``echostr`` when the signature is
ours); POST carries the citizens' messages and events. Both are refused with
403 and a reason (bad signature, stale timestamp, replayed nonce), logged with
the caller's address, unless the signature is ours, its timestamp within 5
minutes of our clock and its nonce not used before (``service.wechat.replay``);
a body that is not a WeChat message is 400. While the channel is not
configured (no ``wechat_token``) both answer 404.
"""

from __future__ import annotations

import logging
import time
from typing import Annotated, NoReturn

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import PlainTextResponse, Response
from wechatpy.replies import TextReply

from service.deps import ConversationsDep
from service.wechat import BadMessage, Refused, WeChat

logger = logging.getLogger(__name__)
router = APIRouter(tags=["wechat"])

MAX_BODY_BYTES = 64 * 1024  # WeChat's messages are a few hundred bytes


def get_wechat(request: Request) -> WeChat:
    wechat: WeChat | None = request.app.state.wechat
    if wechat is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "WeChat channel not configured")
    return wechat


WeChatDep = Annotated[WeChat, Depends(get_wechat)]


@router.get("/wechat", response_class=PlainTextResponse)
async def verify_server(request: Request, wechat: WeChatDep) -> PlainTextResponse:
    query = request.query_params
    try:
        wechat.gate.verify(query)
        await wechat.replays.admit(query)
    except Refused as exc:
        _refuse(request, exc)
    return PlainTextResponse(query.get("echostr", ""))


@router.post("/wechat")
async def receive(request: Request, wechat: WeChatDep, conversations: ConversationsDep) -> Response:
    received = time.monotonic()
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"a WeChat message has at most {MAX_BODY_BYTES} bytes")
    query = request.query_params
    try:
        message = wechat.gate.open(query, body)
        await wechat.replays.admit(query)
    except Refused as exc:
        _refuse(request, exc)
    except BadMessage as exc:
        logger.warning("WeChat request from %s is not a message: %s", _caller(request), exc)
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "not a WeChat message") from exc
    text = await wechat.channel.handle(message, conversations=conversations, received=received)
    if text is None:
        return PlainTextResponse("success")
    reply = TextReply(source=message.target, target=message.source, content=text).render()
    sealed = wechat.gate.seal(reply, nonce=query.get("nonce", ""), timestamp=str(int(time.time())))
    return Response(sealed, media_type="application/xml")


def _refuse(request: Request, exc: Refused) -> NoReturn:
    """403 with the short reason; the details (never the token) go to the log."""
    logger.warning("WeChat request from %s refused (%s): %s", _caller(request), exc.reason, exc)
    raise HTTPException(status.HTTP_403_FORBIDDEN, exc.reason) from exc


def _caller(request: Request) -> str:
    return request.client.host if request.client else "unknown"
