import pytest
from pydantic import ValidationError

from daoban.settings import Settings


def test_environment_is_read_with_prefix_and_paths_made_absolute(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DAOBAN_HOME", "state")
    monkeypatch.setenv("DAOBAN_API_PORT", "8100")
    settings = Settings()
    assert settings.home == tmp_path / "state"
    assert settings.api_port == 8100
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'state' / 'daoban.db'}"
    assert settings.logs_dir == tmp_path / "state" / "logs"


def test_bad_port_is_refused_naming_the_field():
    with pytest.raises(ValidationError, match="api_port"):
        Settings(api_port=70000)


def test_explicit_database_url_wins(tmp_path):
    settings = Settings(home=tmp_path, database_url="postgresql+psycopg://db.example/daoban")
    assert settings.sqlalchemy_url == "postgresql+psycopg://db.example/daoban"
