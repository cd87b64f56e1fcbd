"""Fakes for the WeChat channel's tests: the WeChat server (its requests in, its API out) and a scripted bot.

``WeChatServer`` does what the real server does, with wechatpy's own functions:
it signs each request with the token, the current time and a nonce of its own
(the endpoint takes each pair once, within 5 minutes), encrypts it with the EncodingAESKey in
safe mode, and opens (decrypts, parses) the passive replies. ``FakeWeChatApi``
plays the token and customer-service endpoints behind an ``httpx.MockTransport``.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
import xmltodict
from fastapi.testclient import TestClient
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.messages import BaseMessage
from wechatpy.utils import WeChatSigner

from service.main import create_app
from service.rasa_client import RasaClient
from tests.conftest import frozen_clock

TOKEN = "daoban-test-token"
APP_ID = "wx0123456789abcdef"
APP_SECRET = "app-secret-for-tests"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ACCOUNT = "gh_daoban_test"


def sign(*values: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*values)
    return signer.signature


def text_xml(openid: str, content: str, msg_id: int | None, *, account: str = ACCOUNT) -> str:
    msg_id_node = f"<MsgId>{msg_id}</MsgId>" if msg_id is not None else ""
    return (f"<xml><ToUserName><![CDATA[{account}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content>{msg_id_node}</xml>")


def event_xml(openid: str, event: str, *, account: str = ACCOUNT) -> str:
    return (f"<xml><ToUserName><![CDATA[{account}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[]]></EventKey></xml>")


def image_xml(openid: str, msg_id: int, *, account: str = ACCOUNT) -> str:
    return (f"<xml><ToUserName><![CDATA[{account}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
            f"<PicUrl><![CDATA[http://mmbiz.example/pic]]></PicUrl><MediaId><![CDATA[media1]]></MediaId>"
            f"<MsgId>{msg_id}</MsgId></xml>")


class WeChatServer:
    """Sends to /wechat what the WeChat server would, and reads the replies as it would."""

    def __init__(self, client: TestClient, *, token: str = TOKEN, aes_key: str | None = None, app_id: str = APP_ID):
        self.client = client
        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None
        self._nonce = 0
        self.last_request: tuple[dict[str, str], bytes] | None = None

    def query(self, *, token: str | None = None, timestamp: int | None = None) -> dict[str, str]:
        """Signed like WeChat's: now (or ``timestamp``), with a nonce never used before, by this
        or any other fake server (the workers of one test share the nonce claims in Redis)."""
        self._nonce += 1
        nonce = f"{self._nonce}{uuid.uuid4().int % 10**9:09d}"
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        return {"signature": sign(token or self.token, stamp, nonce), "timestamp": stamp, "nonce": nonce}

    def verify(self, echostr: str, *, token: str | None = None) -> httpx.Response:
        return self.client.get("/wechat", params={**self.query(token=token), "echostr": echostr})

    def post(self, xml: str, *, token: str | None = None, tamper: bool = False,
             timestamp: int | None = None) -> httpx.Response:
        """Post a message as WeChat does: signed; in safe mode encrypted, with ``msg_signature``."""
        query = {**self.query(token=token, timestamp=timestamp), "openid": "o-unused"}
        body = xml
        if self.crypto is not None:
            envelope = xmltodict.parse(self.crypto.encrypt_message(xml, query["nonce"], query["timestamp"]))["xml"]
            msg_signature = envelope["MsgSignature"] if not tamper else "0" * 40
            if token is not None:
                msg_signature = sign(token, query["timestamp"], query["nonce"], envelope["Encrypt"])
            query.update(encrypt_type="aes", msg_signature=msg_signature)
            body = (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                    f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>")
        elif tamper:
            query["signature"] = "0" * 40
        self.last_request = (query, body.encode("utf-8"))
        return self.client.post("/wechat", params=query, content=self.last_request[1],
                                headers={"Content-Type": "text/xml"})

    def replay(self, *, body: bytes | None = None) -> httpx.Response:
        """The last request sent again as it was captured: same signed URL, same (or another) body."""
        assert self.last_request is not None, "nothing was posted yet"
        query, captured = self.last_request
        return self.client.post("/wechat", params=query, content=captured if body is None else body,
                                headers={"Content-Type": "text/xml"})

    def send_text(self, openid: str, content: str, msg_id: int | None = None) -> httpx.Response:
        return self.post(text_xml(openid, content, msg_id))

    def open_reply(self, response: httpx.Response) -> BaseMessage | None:
        """The passive reply as WeChat reads it: None for ``success``, else the message (decrypted in safe mode)."""
        assert response.status_code == 200, response.text
        if response.text == "success":
            return None
        xml = response.text
        if self.crypto is not None:
            envelope = xmltodict.parse(xml)["xml"]
            xml = self.crypto.decrypt_message(xml, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"])
        return parse_message(xml)

    def ask(self, openid: str, content: str, msg_id: int) -> str | None:
        """The text of the passive reply to a text message; None for ``success``."""
        reply = self.open_reply(self.send_text(openid, content, msg_id))
        return reply.content if reply is not None else None


class FakeWeChatApi:
    """The token and customer-service endpoints; ``failures`` makes the next sends fail with that errcode."""

    def __init__(self) -> None:
        self.token_requests: list[dict[str, str]] = []
        self.sent: list[dict[str, Any]] = []
        self.failures: list[int] = []
        self.tokens_issued = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cgi-bin/token":
            self.token_requests.append(dict(request.url.params))
            if request.url.params.get("secret") != APP_SECRET:
                return httpx.Response(200, json={"errcode": 40001, "errmsg": "invalid credential"})
            self.tokens_issued += 1
            return httpx.Response(200, json={"access_token": f"TOKEN-{self.tokens_issued}", "expires_in": 7200})
        if request.url.path == "/cgi-bin/message/custom/send":
            if request.url.params.get("access_token") != f"TOKEN-{self.tokens_issued}":
                return httpx.Response(200, json={"errcode": 40001, "errmsg": "invalid credential"})
            if self.failures:
                return httpx.Response(200, json={"errcode": self.failures.pop(0), "errmsg": "failed"})
            self.sent.append(json.loads(request.content.decode("utf-8")))
            return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})
        return httpx.Response(404)

    def texts(self, openid: str | None = None) -> list[str]:
        return [m["text"]["content"] for m in self.sent if openid is None or m["touser"] == openid]

    def wait_for(self, count: int, timeout_s: float = 5.0) -> list[str]:
        """The texts sent so far, once there are ``count`` of them (the sending runs on the server's loop)."""
        deadline = time.monotonic() + timeout_s
        while len(self.sent) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.texts()


Reply = Callable[[str], list[dict[str, Any]]]


def echo(message: str) -> list[dict[str, Any]]:
    return [{"text": f"收到：{message}"}]


class ScriptedRasa:
    """The Rasa REST channel answering with ``reply(message)``, after ``delay_s``; ``down`` refuses connections."""

    def __init__(self) -> None:
        self.received: list[dict[str, str]] = []
        self.reply: Reply = echo
        self.delay_s = 0.0
        self.down = False

    async def handler(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        message = json.loads(await request.aread())
        self.received.append(message)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return httpx.Response(200, json=[{"recipient_id": message["sender"], **m} for m in self.reply(message["message"])])

    def messages(self) -> list[str]:
        return [m["message"] for m in self.received]


@pytest.fixture
def scripted_rasa() -> ScriptedRasa:
    return ScriptedRasa()


@pytest.fixture
def wechat_api() -> FakeWeChatApi:
    return FakeWeChatApi()


@pytest.fixture
def start_wechat(settings, scripted_rasa, wechat_api) -> Iterator[Callable[..., WeChatServer]]:
    """Start the app with the channel configured (plain mode unless ``safe=True``); settings override the rest."""
    with ExitStack() as stack:
        def start(*, safe: bool = False, **overrides: Any) -> WeChatServer:
            values: dict[str, Any] = {"wechat_token": TOKEN, "wechat_app_id": APP_ID, "wechat_app_secret": APP_SECRET,
                                      "wechat_api_base": "https://api.weixin.test", "wechat_reply_budget_s": 2.0}
            if safe:
                values["wechat_encoding_aes_key"] = AES_KEY
            values.update(overrides)
            rasa = RasaClient("http://rasa.test", 5.0, transport=httpx.MockTransport(scripted_rasa.handler))
            app = create_app(settings.model_copy(update=values), rasa=rasa,
                             wechat_transport=httpx.MockTransport(wechat_api.handler), clock=frozen_clock)
            client = stack.enter_context(TestClient(app))
            return WeChatServer(client, aes_key=values.get("wechat_encoding_aes_key"))

        yield start


@pytest.fixture
def wechat(start_wechat) -> WeChatServer:
    return start_wechat()


@pytest.fixture
def wechat_safe(start_wechat) -> WeChatServer:
    return start_wechat(safe=True)
