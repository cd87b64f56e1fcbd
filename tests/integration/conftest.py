"""One running instance (API, Rasa, actions in a home of their own) shared by every integration test:
starting Rasa costs a minute or more, so the whole integration session pays it once."""

from __future__ import annotations

import pytest

from daoban import processes
from daoban.rasa_model import model_path
from daoban.setup_steps import run_setup
from tests.conftest import isolated_settings


@pytest.fixture(scope="session")
def running(tmp_path_factory):
    settings = isolated_settings(tmp_path_factory.mktemp("instance"))
    run_setup(settings)
    processes.start(settings, processes.process_specs(settings, model_path(settings)))
    try:
        processes.wait_healthy(settings, timeout_s=480)
        yield settings
    finally:
        processes.stop(settings)


