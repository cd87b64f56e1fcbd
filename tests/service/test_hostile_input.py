"""Hostile and malformed input at the citizen's door: refused with a reason, nothing crashes, nothing leaks."""

from __future__ import annotations

import pytest

from service.limits import MemoryRateLimit, RedisRateLimit
from tests.service.citizens import say


def test_an_oversized_body_is_refused_before_it_is_read(client, fake_rasa):
    response = client.post("/api/chat", content=b'{"text":"' + "长".encode() * 100_000 + b'"}',
                           headers={"content-type": "application/json"})
    assert response.status_code == 413 and "请求过大" in response.json()["detail"]
    assert fake_rasa.received == []


def test_a_chunked_oversized_body_is_refused_too(client, fake_rasa):
    def chunks():
        yield b'{"text":"'
        for _ in range(200):
            yield b"x" * 1024
        yield b'"}'

    response = client.post("/api/chat", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413 and fake_rasa.received == []


@pytest.mark.parametrize("text", [
    "\x00\x01\x02 控制字符 \x1b[31m",
    "😀" * 500,
    "<script>alert(1)</script> 居住证要带什么",
    "'; DROP TABLE chat_log; -- 居住证",
])
def test_strange_text_is_answered_or_refused_cleanly_and_the_chat_goes_on(client, fake_rasa, text):
    response = say(client, "web-odd", text)
    assert response.status_code in (200, 422), response.text
    assert say(client, "web-odd", "你好").status_code == 200


def test_a_lone_surrogate_escaped_in_json_is_refused_or_kept_safely(client):
    response = client.post("/api/chat", content=b'{"text":"\\ud800 \xe5\xb1\x85\xe4\xbd\x8f"}',
                           headers={"content-type": "application/json"})
    assert response.status_code in (200, 422), response.text
    assert say(client, "web-sur", "你好").status_code == 200


def test_invalid_utf8_gets_a_4xx_with_a_reason(client):
    response = client.post("/api/chat", content=b'{"text":"\xff\xfe\xfd"}',
                           headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500 and response.json()["detail"]


def test_one_sender_is_rate_limited_and_others_are_not(client, fake_rasa):
    limit = client.app.state.settings.chat_messages_per_minute
    statuses = [say(client, "web-flood", f"第{n}条").status_code
                for n in range(limit + 3)]
    assert statuses[:limit] == [200] * limit and statuses[limit:] == [429] * 3
    assert say(client, "web-calm", "你好").status_code == 200


def test_one_address_dropping_its_cookie_each_time_is_rate_limited_too(client, fake_rasa):
    per_address = client.app.state.settings.chat_messages_per_address_per_minute
    statuses = [say(client, f"web-fresh-{n}", "你好").status_code for n in range(per_address + 2)]
    assert statuses[:per_address] == [200] * per_address and statuses[per_address:] == [429] * 2


def test_windows_reset_each_minute():
    now = [120.0]
    limit = MemoryRateLimit(2, clock=lambda: now[0])
    assert [limit.allow("a"), limit.allow("a"), limit.allow("a")] == [True, True, False]
    now[0] += 60
    assert limit.allow("a")


def test_production_workers_share_one_count_in_redis():
    import secrets

    sender = f"web-{secrets.token_hex(4)}"
    first, second = RedisRateLimit("redis://127.0.0.1:6379/0", 3), RedisRateLimit("redis://127.0.0.1:6379/0", 3)
    assert [first.allow(sender), second.allow(sender), first.allow(sender), second.allow(sender)] == [True] * 3 + [False]


def test_a_rate_limit_without_redis_lets_citizens_through():
    assert RedisRateLimit("redis://127.0.0.1:1/0", 1).allow("web-a")


def test_a_refused_request_never_echoes_what_was_sent(client):
    response = say(client, "web-refused", "hi", sender_id="bad id 110101199003071234")
    assert response.status_code == 422 and "110101199003071234" not in response.text
    assert response.json()["detail"][0]["loc"] == ["body", "sender_id"]
