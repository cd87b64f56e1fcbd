"""Signatures and encryption of the WeChat server's requests, through wechatpy.

Plain mode: every request carries ``signature`` = sha1 of the sorted token,
timestamp and nonce; the body is plain XML. Safe mode (an EncodingAESKey is
set): the body is ``<xml><Encrypt>…</Encrypt></xml>``, AES-encrypted with the
key, and ``msg_signature`` signs the token, timestamp, nonce *and* the
ciphertext; replies go back encrypted the same way.

In safe mode a plain request is refused: its ``signature`` does not cover the
body, so anyone who saw one signed URL could send any message with it.

wechatpy's errors are mapped here, at the boundary::

    WeChatRequestError
    ├── Refused              403, told ``reason``; the log gets the details
    │   ├── BadSignature     the request was not signed with our token
    │   ├── StaleRequest     its signed timestamp is not within minutes of our clock (``service.wechat.replay``)
    │   └── ReplayedRequest  its signed timestamp and nonce were used before (``service.wechat.replay``)
    └── BadMessage           not XML, not a WeChat message, or not decryptable (400)
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from xml.parsers.expat import ExpatError

import xmltodict
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.messages import BaseMessage
from wechatpy.utils import check_signature


class WeChatRequestError(Exception):
    pass


class Refused(WeChatRequestError):
    """A request WeChat did not send, or did not send now: refused with 403.

    ``reason`` is the short answer the caller gets; the message, with the
    details an operator needs, goes only to the log.
    """

    reason = "refused"

    def __init__(self, message: str, *, reason: str | None = None):
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class BadSignature(Refused):
    reason = "bad signature"


class StaleRequest(Refused):
    reason = "stale timestamp"


class ReplayedRequest(Refused):
    reason = "replayed nonce"


class BadMessage(WeChatRequestError):
    pass


class Gate:
    """Checks what comes in from the WeChat server and seals what goes back."""

    def __init__(self, token: str, *, encoding_aes_key: str | None = None, app_id: str | None = None):
        if not token:
            raise ValueError("the WeChat token must not be empty")
        self._token = token
        self._crypto: WeChatCrypto | None = None
        if encoding_aes_key:
            if not app_id:
                raise ValueError("safe mode (wechat_encoding_aes_key) needs wechat_app_id: it is part of every message")
            try:
                self._crypto = WeChatCrypto(token, encoding_aes_key, app_id)
            except (AssertionError, binascii.Error, ValueError) as exc:
                raise ValueError("wechat_encoding_aes_key must be the 43-character key from 服务器配置") from exc

    @property
    def safe_mode(self) -> bool:
        return self._crypto is not None

    def verify(self, query: Mapping[str, str]) -> None:
        """The plain signature over token, timestamp and nonce (URL verification, plain-mode messages)."""
        try:
            check_signature(self._token, query.get("signature", ""), query.get("timestamp", ""), query.get("nonce", ""))
        except InvalidSignatureException as exc:
            raise BadSignature("signature does not match") from exc

    def open(self, query: Mapping[str, str], body: bytes) -> BaseMessage:
        """The message in a POST from the WeChat server, once its signature is checked (and it is decrypted)."""
        if self._crypto is None:
            self.verify(query)
            return _parse(body)
        if query.get("encrypt_type") != "aes" or not query.get("msg_signature"):
            raise BadSignature("safe mode: the request has no msg_signature")
        try:
            envelope = xmltodict.parse(body)["xml"]
            if not isinstance(envelope, dict) or not envelope.get("Encrypt"):
                raise BadMessage("safe mode: the request has no Encrypt element")
        except (ExpatError, KeyError, TypeError, ValueError) as exc:  # ValueError: entities, bad encoding
            raise BadMessage(f"not XML: {exc.__class__.__name__}") from exc
        try:
            plain = self._crypto.decrypt_message(envelope, query["msg_signature"], query.get("timestamp", ""),
                                                 query.get("nonce", ""))
        except InvalidSignatureException as exc:
            raise BadSignature("msg_signature does not match") from exc
        except Exception as exc:  # wechatpy surfaces bad ciphertext as whatever the step that failed raised
            raise BadMessage(f"cannot decrypt: {exc.__class__.__name__}") from exc
        return _parse(plain.encode())

    def seal(self, reply_xml: str, *, nonce: str, timestamp: str) -> str:
        """The passive reply as it goes back: encrypted and signed in safe mode, as it is in plain mode."""
        if self._crypto is None:
            return reply_xml
        return self._crypto.encrypt_message(reply_xml, nonce, timestamp)


def _parse(body: bytes) -> BaseMessage:
    try:
        message = parse_message(body)
    except (ExpatError, KeyError, TypeError, AttributeError, ValueError) as exc:
        raise BadMessage(f"not a WeChat message: {exc.__class__.__name__}") from exc
    if message is None:
        raise BadMessage("empty body")
    return message
