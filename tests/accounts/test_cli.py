"""``daoban admin create-user`` / ``list-users``: the first account comes from the command line, its password never does."""

import pytest

from accounts.service import AccountBook
from daoban import cli
from knowledge.database import make_engine

PASSWORD = "first admin password"


@pytest.fixture
def env(monkeypatch, tmp_path, database_url):
    monkeypatch.setenv("DAOBAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DAOBAN_DATABASE_URL", database_url)
    monkeypatch.delenv("DAOBAN_NEW_PASSWORD", raising=False)
    return database_url


def _book(url: str) -> AccountBook:
    return AccountBook(make_engine(url))


def test_create_user_with_the_password_from_the_environment(env, monkeypatch, capsys):
    monkeypatch.setenv("DAOBAN_NEW_PASSWORD", PASSWORD)
    assert cli.main(["admin", "create-user", "root", "--role", "admin", "--role", "editor",
                     "--display-name", "管理员"]) == 0
    book = _book(env)
    assert book.login("root", PASSWORD)[0]
    [account] = book.list()
    assert (account.username, account.display_name, account.roles) == ("root", "管理员", ("admin", "editor"))
    book.engine.dispose()
    assert cli.main(["admin", "list-users"]) == 0
    assert capsys.readouterr().out == "root\t管理员\tadmin,editor\tactive\n"


def test_create_user_asks_twice_when_the_environment_has_no_password(env, monkeypatch):
    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr(cli.getpass, "getpass", lambda _prompt: next(answers))
    assert cli.main(["admin", "create-user", "agent-1", "--role", "agent"]) == 0
    assert _book(env).login("agent-1", PASSWORD)[0]


def test_refusals_exit_2_and_create_nothing(env, monkeypatch):
    answers = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr(cli.getpass, "getpass", lambda _prompt: next(answers))
    assert cli.main(["admin", "create-user", "root", "--role", "admin"]) == 2  # the two prompts differ
    monkeypatch.setenv("DAOBAN_NEW_PASSWORD", "short")
    assert cli.main(["admin", "create-user", "root", "--role", "admin"]) == 2
    assert _book(env).list() == []
    with pytest.raises(SystemExit):  # no password on the command line, no unknown roles
        cli.main(["admin", "create-user", "root", "--role", "admin", PASSWORD])
    with pytest.raises(SystemExit):
        cli.main(["admin", "create-user", "root", "--role", "root"])
