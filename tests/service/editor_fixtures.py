"""An app whose store runs on each back end, seeded with the small records, for the editor API tests.

Editors are real accounts: ``alice`` and ``bob`` (role editor) are created in
the app's database and log in through ``POST /api/auth/login``; the fixtures
are the ``Authorization`` headers their logins gave.
"""

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from daoban.settings import load_settings
from knowledge.store import KnowledgeStore
from service.main import create_app
from service.rasa_client import RasaClient
from tests.conftest import free_port
from tests.service.login import login_headers


@pytest.fixture
def editor_client(database_url, tmp_path, fake_rasa, records) -> Iterator[TestClient]:
    settings = load_settings(
        home=tmp_path / "home", cache_dir=load_settings().cache_dir, database_url=database_url,
        api_port=free_port(), rasa_port=free_port(), actions_port=free_port(),
    )
    rasa = RasaClient("http://rasa.test", 5.0, transport=httpx.MockTransport(fake_rasa.handler))
    with TestClient(create_app(settings, rasa=rasa)) as client:
        client.app.state.store.import_records(records, actor="seed")
        yield client


@pytest.fixture
def alice(editor_client) -> dict[str, str]:
    return login_headers(editor_client, "alice", "editor")


@pytest.fixture
def bob(editor_client) -> dict[str, str]:
    return login_headers(editor_client, "bob", "editor")


@pytest.fixture
def app_store(editor_client) -> KnowledgeStore:
    return editor_client.app.state.store
