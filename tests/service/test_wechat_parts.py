"""The WeChat channel's parts on their own: rendering and splitting, memory, the customer-service client, the gate."""

import asyncio
import logging

import httpx
import pytest
from pydantic import ValidationError

from daoban.settings import load_settings
from service.wechat import CustomerService, CustomerServiceError, Gate, build_channel
from service.wechat.dedupe import Deduper, ExpiringMap
from service.wechat.render import MAX_PART_BYTES, MORE, Choice, render, split
from tests.service.wechat_fixtures import AES_KEY, APP_ID, APP_SECRET, FakeWeChatApi


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- rendering ----------------------------------------------------------------------------------------------------

def test_buttons_of_all_messages_become_one_numbered_menu():
    rendered = render([
        {"text": "居住证申领需要：\n1. 居民身份证", "buttons": [{"title": "收费标准", "payload": "/ask_fee"}]},
        {"image": "ignored.png"},
        {"text": "还想了解什么？", "buttons": [{"title": "办理地点", "payload": "/ask_place"}]},
    ])
    assert rendered.parts == ("居住证申领需要：\n1. 居民身份证\n\n还想了解什么？\n\n回复数字选择：\n1. 收费标准\n2. 办理地点",)
    assert rendered.choices == (Choice("收费标准", "/ask_fee"), Choice("办理地点", "/ask_place"))


def test_text_is_made_safe_for_the_reply_xml():
    rendered = render([{"text": "a]]>b\x00c\r\nd"}])
    assert rendered.parts == ("a]] >bc\nd",)


def test_a_single_line_too_long_is_cut_after_a_sentence_mark():
    line = "".join(f"第{n}句话讲材料的要求。" for n in range(200))
    parts = split([[line]], max_bytes=600)
    assert len(parts) > 3 and all(len(p.encode()) <= 600 for p in parts)
    assert all(p.removesuffix("\n" + MORE).endswith("。") for p in parts)
    assert "".join(p.removesuffix("\n" + MORE) for p in parts) == line


def test_a_line_without_marks_is_cut_at_a_character_boundary():
    parts = split([["居" * 1000]], max_bytes=300)
    assert all(len(p.encode()) <= 300 for p in parts)
    assert "".join(p.removesuffix("\n" + MORE) for p in parts) == "居" * 1000


def test_the_menu_stays_whole_and_paragraphs_start_new_parts_when_half_full():
    first = ["甲" * 120]  # 360 bytes: over half of the 681 left beside the "more" mark
    second = ["乙" * 100, "丙" * 100]  # 601 bytes: they do not fit after the first
    menu = [Choice("收费标准", "/ask_fee"), Choice("办理地点", "/ask_place")]
    parts = split([first, second], menu, max_bytes=700)
    assert parts[0] == "甲" * 120 + "\n" + MORE
    assert parts[1].startswith("乙" * 100 + "\n" + "丙" * 100)
    assert parts[-1].endswith("回复数字选择：\n1. 收费标准\n2. 办理地点")
    assert sum("回复数字选择" in p for p in parts) == 1
    # a part less than half full takes the next paragraph's lines instead
    assert split([["甲" * 60], second], max_bytes=700)[0] == "甲" * 60 + "\n\n" + "乙" * 100 + "\n" + MORE


def test_parts_fit_wechat_limits_by_default():
    parts = render([{"text": "\n".join("材料" * 40 for _ in range(100))}]).parts
    assert len(parts) > 1
    assert all(len(p.encode("utf-8")) <= MAX_PART_BYTES <= 2048 for p in parts)


# --- memory -------------------------------------------------------------------------------------------------------

def test_expiring_map_forgets_by_age_and_by_size():
    clock = Clock()
    memory: ExpiringMap[str, int] = ExpiringMap(max_entries=2, ttl_s=10, clock=clock)
    memory.put("a", 1)
    clock.now += 5
    memory.put("b", 2)
    memory.put("c", 3)  # over the bound: the oldest goes
    assert memory.get("a") is None and memory.get("b") == 2 and memory.get("c") == 3
    clock.now += 6  # "b" and "c" are 6 s old
    assert len(memory) == 2
    clock.now += 5
    assert memory.get("b") is None and len(memory) == 0
    with pytest.raises(ValueError, match="max_entries must be >= 1, got 0"):
        ExpiringMap(max_entries=0, ttl_s=1)


def test_deduper_starts_the_work_once_per_key():
    async def scenario() -> None:
        deduper: Deduper[str] = Deduper()
        started: list[str] = []

        async def work(key: str) -> str:
            started.append(key)
            return key.upper()

        first, new_first = deduper.claim("m1", lambda: asyncio.create_task(work("m1")))
        again, new_again = deduper.claim("m1", lambda: asyncio.create_task(work("m1")))
        assert (new_first, new_again) == (True, False) and first is again
        assert await first.task == "M1"
        assert started == ["m1"] and len(deduper) == 1

    asyncio.run(scenario())


# --- the customer-service API -------------------------------------------------------------------------------------

def _service(api: FakeWeChatApi, secret: str = APP_SECRET, clock=None) -> CustomerService:
    kwargs = {"clock": clock} if clock else {}
    return CustomerService("https://api.weixin.test", APP_ID, secret, transport=httpx.MockTransport(api.handler),
                           **kwargs)


def test_the_access_token_is_fetched_once_and_renewed_before_it_expires():
    api, clock = FakeWeChatApi(), Clock()

    async def scenario() -> None:
        service = _service(api, clock=clock)
        await service.send_text("o1", "第一条")
        await service.send_text("o1", "第二条")
        assert len(api.token_requests) == 1
        assert api.token_requests[0] == {"grant_type": "client_credential", "appid": APP_ID, "secret": APP_SECRET}
        clock.now += 7200 - 200  # inside the renewal margin
        await service.send_text("o1", "第三条")
        assert len(api.token_requests) == 2
        await service.aclose()

    asyncio.run(scenario())
    assert api.texts("o1") == ["第一条", "第二条", "第三条"]
    assert api.sent[0] == {"touser": "o1", "msgtype": "text", "text": {"content": "第一条"}}


def test_a_failed_send_is_retried_once_with_a_fresh_token_when_wechat_rejects_it():
    api = FakeWeChatApi()
    api.failures = [42001]  # access token expired

    async def scenario() -> None:
        service = _service(api)
        await service.send_text("o1", "你好")
        await service.aclose()

    asyncio.run(scenario())
    assert api.texts() == ["你好"] and len(api.token_requests) == 2


def test_a_send_failing_twice_raises_and_logs_without_secrets(caplog):
    api = FakeWeChatApi()
    api.failures = [45015, 45015]  # the citizen has not written for 48 hours

    async def scenario() -> None:
        service = _service(api)
        with pytest.raises(CustomerServiceError, match="45015"):
            await service.send_text("o1", "你好")
        bad = _service(FakeWeChatApi(), secret="wrong-secret")
        with pytest.raises(CustomerServiceError, match="no access token"):
            await bad.send_text("o1", "你好")
        unreachable = CustomerService("https://api.weixin.test", APP_ID, APP_SECRET,
                                      transport=httpx.MockTransport(_refuse))
        with pytest.raises(CustomerServiceError, match="ConnectError"):
            await unreachable.send_text("o1", "你好")
        for client in (service, bad, unreachable):
            await client.aclose()

    with caplog.at_level(logging.WARNING, logger="service.wechat.customer_service"):
        asyncio.run(scenario())
    assert api.sent == [] and "attempt 2 of 2" in caplog.text
    assert APP_SECRET not in caplog.text and "TOKEN-" not in caplog.text and "wrong-secret" not in caplog.text


def _refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused", request=request)


# --- the gate and the settings ------------------------------------------------------------------------------------

def test_safe_mode_needs_the_app_id_and_a_real_key():
    with pytest.raises(ValueError, match="needs wechat_app_id"):
        Gate("token", encoding_aes_key=AES_KEY)
    with pytest.raises(ValueError, match="43-character key"):
        Gate("token", encoding_aes_key="!" * 43, app_id=APP_ID)
    assert Gate("token", encoding_aes_key=AES_KEY, app_id=APP_ID).safe_mode
    assert not Gate("token").safe_mode


def test_settings_check_the_key_length_and_keep_secrets_out_of_repr(tmp_path):
    with pytest.raises(ValidationError, match="43"):
        load_settings(home=tmp_path, wechat_encoding_aes_key="short")
    settings = load_settings(home=tmp_path, wechat_token="tok-123", wechat_app_secret="sec-456",
                             wechat_encoding_aes_key=AES_KEY, wechat_app_id=APP_ID)
    assert "tok-123" not in repr(settings) and "sec-456" not in repr(settings) and AES_KEY not in repr(settings)
    assert build_channel(load_settings(home=tmp_path)) is None
