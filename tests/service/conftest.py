import json

import httpx
import pytest
from fastapi.testclient import TestClient

from index.engine import RetrievalEngine
from index.live import StaticEngine
from service.main import create_app
from service.rasa_client import RasaClient
from tests.conftest import HASHING_POLICY
from tests.service.editor_fixtures import alice, app_store, bob, editor_client  # noqa: F401  (fixtures)


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
def engine_source(hashing_embedder, seeded_store, tmp_path):
    engine = RetrievalEngine(hashing_embedder, HASHING_POLICY, jieba_cache=tmp_path / "jieba")
    engine.load(seeded_store.published(), seeded_store.revision(), seeded_store.content_hash())
    return StaticEngine(engine)


@pytest.fixture
def client(settings, fake_rasa, engine_source):
    rasa = RasaClient("http://rasa.test", 5.0, transport=httpx.MockTransport(fake_rasa.handler))
    with TestClient(create_app(settings, rasa=rasa, engine_source=engine_source)) as test_client:
        yield test_client
