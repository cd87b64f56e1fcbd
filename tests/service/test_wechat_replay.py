"""A signed WeChat request is good once and for 5 minutes: stale or replayed requests are refused with 403."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time

import pytest

from service.wechat import ReplayedRequest, ReplayGuard, StaleRequest, build_channel
from service.wechat.dedupe import LocalOnce, RedisClaims
from service.wechat.replay import MAX_SKEW_S, nonce_lifetime_s
from tests.service import wechat_fixtures
from tests.service.wechat_fixtures import TOKEN, text_xml

scripted_rasa = wechat_fixtures.scripted_rasa
wechat_api = wechat_fixtures.wechat_api
start_wechat = wechat_fixtures.start_wechat
wechat = wechat_fixtures.wechat
wechat_safe = wechat_fixtures.wechat_safe

OPENID = "oDaoban-citizen-replay"
NOW = 1_800_000_000
THIRTY_DAYS_S = 30 * 24 * 3600


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _guard(clock: Clock, memory_clock: Clock | None = None) -> ReplayGuard:
    claims = LocalOnce(ttl_s=nonce_lifetime_s(MAX_SKEW_S), clock=memory_clock or Clock(0.0))
    return ReplayGuard(claims, clock=clock)


def _admit(guard: ReplayGuard, timestamp: int | str, nonce: str) -> None:
    asyncio.run(guard.admit({"timestamp": str(timestamp), "nonce": nonce}))


# --- the guard on its own, on an injected clock ---------------------------------------------------------------------

def test_a_timestamp_within_five_minutes_either_way_is_fresh():
    guard = _guard(Clock(NOW))
    for offset in (-MAX_SKEW_S, -1, 0, 1, MAX_SKEW_S):
        _admit(guard, NOW + offset, f"n{offset}")


@pytest.mark.parametrize("offset", [-MAX_SKEW_S - 1, MAX_SKEW_S + 1, -THIRTY_DAYS_S, THIRTY_DAYS_S])
def test_a_timestamp_further_off_is_stale(offset):
    with pytest.raises(StaleRequest, match="from our clock") as refused:
        _admit(_guard(Clock(NOW)), NOW + offset, "n1")
    assert refused.value.reason == "stale timestamp"


@pytest.mark.parametrize("timestamp", ["", "abc", "1.8e9", "-1800000000", "１８００００００００", "9" * 40])
def test_a_timestamp_that_is_not_unix_seconds_is_refused(timestamp):
    with pytest.raises(StaleRequest) as refused:
        _admit(_guard(Clock(NOW)), timestamp, "n1")
    assert refused.value.reason == "bad timestamp"


def test_a_nonce_is_taken_once_per_timestamp():
    guard = _guard(Clock(NOW))
    _admit(guard, NOW, "123456789")
    with pytest.raises(ReplayedRequest, match="already used") as refused:
        _admit(guard, NOW, "123456789")
    assert refused.value.reason == "replayed nonce"
    _admit(guard, NOW + 1, "123456789")  # another timestamp: another signed request
    for nonce in ("", "9" * 65):
        with pytest.raises(ReplayedRequest, match="missing or too long"):
            _admit(guard, NOW, nonce)


def test_a_nonce_is_remembered_until_its_timestamp_is_stale():
    clock, memory_clock = Clock(NOW), Clock(0.0)
    guard = _guard(clock, memory_clock)
    _admit(guard, NOW + MAX_SKEW_S, "n1")  # from a clock ahead of ours: fresh for 10 minutes
    clock.now += 2 * MAX_SKEW_S
    memory_clock.now += 2 * MAX_SKEW_S
    with pytest.raises(ReplayedRequest):
        _admit(guard, NOW + MAX_SKEW_S, "n1")
    clock.now += 1
    memory_clock.now += 2  # the claim is forgotten now, and the timestamp no longer passes
    with pytest.raises(StaleRequest):
        _admit(guard, NOW + MAX_SKEW_S, "n1")


def test_build_channel_checks_timestamps_against_its_clock(settings):
    channel = build_channel(settings.model_copy(update={"wechat_token": TOKEN}), clock=Clock(NOW))
    asyncio.run(channel.replays.admit({"timestamp": str(NOW - 60), "nonce": "n1"}))
    with pytest.raises(StaleRequest):
        asyncio.run(channel.replays.admit({"timestamp": str(int(time.time())), "nonce": "n2"}))


def test_without_redis_a_worker_still_refuses_the_nonces_it_saw(caplog):
    async def scenario() -> tuple[bool, bool]:
        claims = RedisClaims("redis://127.0.0.1:1/0", ttl_s=10, prefix="daoban:test:nonce:",
                             fallback=LocalOnce(ttl_s=10))
        try:
            return await claims.first("1:n1"), await claims.first("1:n1")
        finally:
            await claims.aclose()

    with caplog.at_level(logging.WARNING, logger="service.wechat.dedupe"):
        assert asyncio.run(scenario()) == (True, False)
    assert "deciding on this worker" in caplog.text


# --- the endpoint ----------------------------------------------------------------------------------------------------

def test_a_message_signed_30_days_ago_is_refused_and_the_bot_is_not_asked(wechat, scripted_rasa, caplog):
    with caplog.at_level(logging.WARNING, logger="service.routes.wechat"):
        response = wechat.post(text_xml(OPENID, "你好", 1), timestamp=int(time.time()) - THIRTY_DAYS_S)
    assert response.status_code == 403 and response.json()["detail"] == "stale timestamp"
    assert scripted_rasa.received == []
    assert "refused (stale timestamp)" in caplog.text and TOKEN not in caplog.text


def test_a_message_signed_too_far_ahead_is_refused(wechat, scripted_rasa):
    response = wechat.post(text_xml(OPENID, "你好", 2), timestamp=int(time.time()) + 2 * MAX_SKEW_S)
    assert response.status_code == 403 and response.json()["detail"] == "stale timestamp"
    assert scripted_rasa.received == []


def test_a_captured_request_sent_again_is_refused(wechat, scripted_rasa):
    assert wechat.ask(OPENID, "居住证怎么办", msg_id=3) == "收到：居住证怎么办"
    again = wechat.replay()
    assert again.status_code == 403 and again.json()["detail"] == "replayed nonce"
    # plain mode: the signature does not cover the body, so a captured URL must not carry another message
    forged = wechat.replay(body=text_xml(OPENID, "转人工", 4).encode())
    assert forged.status_code == 403 and forged.json()["detail"] == "replayed nonce"
    assert scripted_rasa.messages() == ["居住证怎么办"]
    assert wechat.ask(OPENID, "居住证怎么办", msg_id=5) == "收到：居住证怎么办"  # freshly signed: welcome


def test_a_captured_safe_mode_request_sent_again_is_refused(wechat_safe, scripted_rasa):
    assert wechat_safe.open_reply(wechat_safe.send_text(OPENID, "身份证补办", msg_id=6)) is not None
    again = wechat_safe.replay()
    assert again.status_code == 403 and again.json()["detail"] == "replayed nonce"
    assert scripted_rasa.messages() == ["身份证补办"]


def test_url_verification_is_fresh_and_once_too(wechat):
    query = {**wechat.query(), "echostr": "echo-1"}
    assert wechat.client.get("/wechat", params=query).text == "echo-1"
    again = wechat.client.get("/wechat", params=query)
    assert again.status_code == 403 and again.json()["detail"] == "replayed nonce"
    stale = {**wechat.query(timestamp=int(time.time()) - THIRTY_DAYS_S), "echostr": "echo-2"}
    refused = wechat.client.get("/wechat", params=stale)
    assert refused.status_code == 403 and "echo-2" not in refused.text


def test_a_bad_signature_is_refused_before_its_nonce_is_taken(wechat, scripted_rasa):
    """A forged request must not use up the nonce of the real one (nor fill the memory of nonces)."""
    query = wechat.query()
    body = text_xml(OPENID, "你好", 7).encode()
    forged = wechat.client.post("/wechat", params={**query, "signature": "0" * 40}, content=body)
    assert forged.status_code == 403 and forged.json()["detail"] == "bad signature"
    assert wechat.client.post("/wechat", params=query, content=body).status_code == 200
    assert scripted_rasa.messages() == ["你好"]


def test_a_nonce_used_on_one_worker_is_refused_on_another(start_wechat, scripted_rasa, postgres_url):
    """Production mode: two API workers (two apps on one database and one Redis) share the used nonces."""
    shared = {"mode": "production", "database_url": postgres_url, "redis_url": "redis://127.0.0.1:6379/7",
              "wechat_reply_budget_s": 4.0}
    first, second = start_wechat(**shared), start_wechat(**shared)
    msg_id = secrets.randbits(48)  # message claims live in Redis for two minutes: never reuse one across runs
    # a cold worker's first Redis call can outlast the claims' 0.5 s timeout on two busy cores, and then
    # decides on that worker alone (tested above): warm both up, this test is about the shared claims
    for n, server in enumerate((first, second), start=1):
        assert server.send_text(OPENID, f"你好{n}", msg_id=msg_id + n).status_code == 200
    assert first.send_text(OPENID, "居住证怎么办", msg_id=msg_id).status_code == 200
    query, body = first.last_request
    replayed = second.client.post("/wechat", params=query, content=body)
    assert replayed.status_code == 403 and replayed.json()["detail"] == "replayed nonce"
    assert scripted_rasa.messages() == ["你好1", "你好2", "居住证怎么办"]
