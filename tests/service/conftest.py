import json
import re

import httpx
import pytest
from fastapi.testclient import TestClient

from index.engine import RetrievalEngine
from index.live import StaticEngine
from service.main import create_app
from service.rasa_client import RasaClient
from tests.conftest import HASHING_POLICY, frozen_clock, set_up_database
from tests.service.editor_fixtures import alice, app_store, bob, editor_client  # noqa: F401  (fixtures)


class FakeRasa:
    """Plays the Rasa REST channel and the tracker-events API; ``down`` makes it refuse connections.

    ``scripted`` maps a citizen's text to the bot's reply (else it echoes "收到：…"), with
    ``kinds`` the kind the reply says it is (as ``actions.speech`` sends it in ``custom``);
    a conversation paused through the events API gets no reply, as with Rasa.
    """

    EVENTS_PATH = re.compile(r"^/conversations/(?P<sender>.+)/tracker/events$")

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.events: list[tuple[str, str]] = []
        self.paused: set[str] = set()
        self.scripted: dict[str, str] = {}
        self.kinds: dict[str, str] = {}
        self.silent: set[str] = set()  # texts Rasa answers with [] (as when a custom action failed)
        self.down = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/status":
            return httpx.Response(200, json={"model_file": "m.tar.gz", "model_id": "abc", "num_active_training_jobs": 0})
        events = self.EVENTS_PATH.match(request.url.raw_path.decode("ascii").split("?", 1)[0])
        if events is not None:
            # as Rasa's server reads it: the path is not percent-decoded ("wechat%3Ao…" is another conversation)
            sender, body = events["sender"], json.loads(request.read())
            for event in [e["event"] for e in (body if isinstance(body, list) else [body])]:
                self.events.append((sender, event))
                if event == "pause":
                    self.paused.add(sender)
                elif event == "resume":
                    self.paused.discard(sender)
            return httpx.Response(200, json={"sender_id": sender, "paused": sender in self.paused})
        message = json.loads(request.read())
        self.received.append(message)
        if message["sender"] in self.paused or message["message"] in self.silent:
            return httpx.Response(200, json=[])
        text = self.scripted.get(message["message"], f"收到：{message['message']}")
        replies = [{"recipient_id": message["sender"], "text": text,
                    "buttons": [{"title": "收费标准", "payload": "/ask_fee"}]}]
        if message["message"] in self.kinds:
            replies.append({"recipient_id": message["sender"],
                            "custom": {"daoban": {"kind": self.kinds[message["message"]], "about": []}}})
        replies.append({"recipient_id": message["sender"], "image": "ignored.png"})
        return httpx.Response(200, json=replies)


@pytest.fixture
def database_url(database_url: str) -> str:
    """The back end's database, set up: the API starts only on a database `daoban setup` made."""
    set_up_database(database_url)
    return database_url


@pytest.fixture
def postgres_url(postgres_url: str) -> str:
    """A fresh PostgreSQL schema, set up (as ``database_url``)."""
    set_up_database(postgres_url)
    return postgres_url


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
    app = create_app(settings, rasa=rasa, engine_source=engine_source, clock=frozen_clock)
    with TestClient(app) as test_client:
        yield test_client
