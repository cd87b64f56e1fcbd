"""Production mode for real: PostgreSQL, Redis, two Rasa servers, two action servers, two API workers.

One instance for the module (starting two Rasa servers costs minutes), in a
database of its own on the local PostgreSQL server and a Redis database of its
own, on ports of its own.
"""

from __future__ import annotations

import secrets

import pytest

from bench.clients import ONE_ADDRESS_MANY_CITIZENS
from daoban import processes
from daoban.rasa_model import model_path
from daoban.settings import load_settings
from daoban.setup_steps import run_setup
from tests.backends import _admin_url, _execute
from tests.conftest import free_port

REDIS_TEST_DB = 7


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    admin = _admin_url()
    database = f"daoban_prod_{secrets.token_hex(4)}"
    settings = load_settings(
        home=tmp_path_factory.mktemp("production"), cache_dir=load_settings().cache_dir, mode="production",
        database_url=admin.set(database=database).render_as_string(hide_password=False),
        redis_url=f"redis://127.0.0.1:6379/{REDIS_TEST_DB}", replicas=2,
        api_port=free_port(), rasa_port=free_port(consecutive=2), actions_port=free_port(consecutive=2),
        **ONE_ADDRESS_MANY_CITIZENS,
    )
    try:
        run_setup(settings)  # creates the database, migrates, seeds; the model and Rasa model come from the cache
        processes.start(settings, processes.process_specs(settings, model_path(settings)))
        processes.wait_healthy(settings, timeout_s=600)
        yield settings
    finally:
        processes.stop(settings)
        _execute(admin, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
