import os
import shutil

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, make_url

from service.main import create_app
from service.rasa_client import RasaClient


def database_health(client) -> dict:
    response = client.get("/healthz")
    database = response.json()["components"]["database"]
    if not database["up"]:
        assert response.status_code == 503, "one component down makes the whole health red"
    return database


def test_health_is_503_naming_each_component_that_is_down(client, fake_rasa):
    fake_rasa.down = True
    response = client.get("/healthz")
    assert response.status_code == 503
    components = response.json()["components"]
    assert set(components) == {"rasa", "actions", "index", "database"}
    assert components["database"]["up"] is True
    assert components["rasa"]["up"] is False
    assert components["actions"]["up"] is False  # nothing listens on the test's action port
    assert components["index"]["up"] is False and "daoban index build" in components["index"]["detail"]


def test_a_read_only_database_turns_health_red(client):
    """Reads go on working (so a ping alone is green) while every booking, login and journal line would fail."""
    engine = client.app.state.store.engine
    assert database_health(client)["up"] is True
    event.listen(engine, "connect", lambda connection, _record: connection.execute("PRAGMA query_only = ON"))
    engine.dispose()  # the connections opened from now on are read-only

    database = database_health(client)
    assert database == {"up": False, "detail": "not writable: the database is read-only"}
    assert client.app.state.store.count() == 0, "the database still answers reads"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to a file whatever its mode")
def test_a_database_file_made_read_only_turns_health_red(client, settings):
    os.chmod(settings.home / "daoban.db", 0o400)
    try:
        database = database_health(client)
    finally:
        os.chmod(settings.home / "daoban.db", 0o600)
    assert database["up"] is False and "read-only" in database["detail"]


def test_a_read_only_postgresql_turns_health_red(postgres_url, settings, fake_rasa, engine_source):
    url = make_url(postgres_url)
    read_only = url.update_query_dict({"options": f"{url.query['options']} -cdefault_transaction_read_only=on"})
    settings = settings.model_copy(update={"database_url": read_only.render_as_string(hide_password=False)})
    rasa = RasaClient("http://rasa.test", 5.0, transport=httpx.MockTransport(fake_rasa.handler))
    with TestClient(create_app(settings, rasa=rasa, engine_source=engine_source)) as client:
        assert database_health(client) == {"up": False, "detail": "not writable: the database is read-only"}


def test_health_is_green_for_a_writable_postgresql(postgres_url, settings, fake_rasa, engine_source):
    settings = settings.model_copy(update={"database_url": postgres_url})
    rasa = RasaClient("http://rasa.test", 5.0, transport=httpx.MockTransport(fake_rasa.handler))
    with TestClient(create_app(settings, rasa=rasa, engine_source=engine_source)) as client:
        assert database_health(client) == {"up": True, "detail": "0 published records"}


def test_a_database_file_replaced_while_the_api_runs_turns_health_red(client, settings, tmp_path):
    """The API's open connections would go on writing to the old file: only a restart picks up the new one."""
    database = settings.home / "daoban.db"
    shutil.copy(database, tmp_path / "copy.db")
    os.replace(tmp_path / "copy.db", database)

    health = database_health(client)
    assert health["up"] is False and "was replaced since the API started: restart the API" in health["detail"]
