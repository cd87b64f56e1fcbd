import json

import httpx
import pytest
from fastapi.testclient import TestClient

from service.main import create_app
from service.rasa_client import RasaClient


class FakeRasa:
    """Plays the Rasa REST channel; ``down`` makes it refuse connections."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.down = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/status":
            return httpx.Response(200, json={"model_file": "m.tar.gz", "model_id": "abc", "num_active_training_jobs": 0})
        message = json.loads(request.read())
        self.received.append(message)
        return httpx.Response(200, json=[
            {"recipient_id": message["sender"], "text": f"收到：{message['message']}",
             "buttons": [{"title": "收费标准", "payload": "/ask_fee"}]},
            {"recipient_id": message["sender"], "image": "ignored.png"},
        ])


@pytest.fixture
def fake_rasa() -> FakeRasa:
    return FakeRasa()


@pytest.fixture
def client(settings, fake_rasa):
    rasa = RasaClient("http://rasa.test", 5.0, transport=httpx.MockTransport(fake_rasa.handler))
    with TestClient(create_app(settings, rasa=rasa)) as test_client:
        yield test_client
