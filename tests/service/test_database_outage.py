"""PostgreSQL going away and coming back, through a proxy that can cut it: fast 503s, then recovery.

The service runs against a real PostgreSQL (a schema of its own) behind
``TcpProxy``; cutting the proxy resets every pooled connection and refuses new
ones, as a database crash or restart does.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import make_url

from service.main import create_app
from service.rasa_client import RasaClient
from tests.faults import TcpProxy
from tests.service.citizens import say


@pytest.fixture
def db_proxy(postgres_url):
    url = make_url(postgres_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.restore()
    yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    proxy.cut()


@pytest.fixture
def outage_client(settings, fake_rasa, engine_source, db_proxy):
    _, proxied_url = db_proxy
    settings = settings.model_copy(update={"database_url": proxied_url})
    rasa = RasaClient("http://rasa.test", 5.0, transport=httpx.MockTransport(fake_rasa.handler))
    with TestClient(create_app(settings, rasa=rasa, engine_source=engine_source)) as client:
        yield client


def chat(client, text):
    return say(client, "web-outage", text)


def test_requests_fail_with_503_while_the_database_is_away_and_work_again_when_it_is_back(outage_client, db_proxy):
    proxy, _ = db_proxy
    assert chat(outage_client, "你好").status_code == 200  # the pool now holds a live connection

    proxy.cut()
    down = chat(outage_client, "居住证怎么办")
    assert down.status_code == 503
    assert down.headers["Retry-After"] == "10" and "稍后再试" in down.json()["detail"]
    health = outage_client.get("/healthz")
    assert health.status_code == 503 and health.json()["components"]["database"]["up"] is False
    login = outage_client.post("/api/auth/login", json={"username": "agent", "password": "x" * 12})
    assert login.status_code == 503  # staff routes too: a clear "try later", not a 500

    proxy.restore()
    back = chat(outage_client, "居住证怎么办")
    assert back.status_code == 200 and back.json()["messages"][0]["text"] == "收到：居住证怎么办"
    assert outage_client.get("/healthz").json()["components"]["database"]["up"] is True
