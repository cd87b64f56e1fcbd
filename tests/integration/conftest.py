"""One running instance (API, Rasa, actions in a home of their own) shared by every integration test:
starting Rasa costs a minute or more, so the whole integration session pays it once."""

from __future__ import annotations

import pytest

from bench.clients import ONE_ADDRESS_MANY_CITIZENS, WebCitizens
from daoban import processes
from daoban.rasa_model import model_path
from daoban.setup_steps import run_setup
from tests.conftest import isolated_settings

WECHAT_TOKEN = "daoban-integration-token"


@pytest.fixture(scope="session")
def running(tmp_path_factory):
    # the official account in plain mode too: WeChat conversations take the same path as the web's
    # (a passive reply waits up to 15 s here: a loaded CI machine must not turn an answer into a lost one)
    settings = isolated_settings(tmp_path_factory.mktemp("instance")).model_copy(
        update={"wechat_token": WECHAT_TOKEN, "wechat_reply_budget_s": 15.0, **ONE_ADDRESS_MANY_CITIZENS})
    run_setup(settings)
    processes.start(settings, processes.process_specs(settings, model_path(settings)))
    try:
        processes.wait_healthy(settings, timeout_s=480)
        yield settings
    finally:
        processes.stop(settings)


@pytest.fixture(scope="session")
def citizens(running):
    """Web citizens by label, each with the cookie the instance issued it."""
    pool = WebCitizens(running.api_url)
    yield pool
    pool.close()


