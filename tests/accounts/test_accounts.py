"""Accounts, passwords and sessions, on SQLite and PostgreSQL."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from accounts.errors import AccountExists, AccountNotFound, InvalidAccount, InvalidCredentials, WeakPassword
from accounts.passwords import hash_password, needs_rehash, verify_password
from accounts.service import AccountBook, hash_token
from accounts.tables import SessionRow
from knowledge.database import make_engine, migrate

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
PASSWORD = "correct horse battery"


@pytest.fixture
def book(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    yield AccountBook(engine, clock=lambda: T0)
    engine.dispose()


def test_password_hash_is_not_the_password_and_verifies():
    hashed = hash_password(PASSWORD)
    assert hashed != PASSWORD and PASSWORD not in hashed and hashed.startswith("$argon2id$")
    assert verify_password(hashed, PASSWORD)
    assert not verify_password(hashed, PASSWORD + "!")
    assert not verify_password("not a hash", PASSWORD)
    assert hash_password(PASSWORD) != hashed  # salted
    assert not needs_rehash(hashed)


def test_login_authenticate_logout(book):
    created = book.create("alice", PASSWORD, ["editor"], display_name="Alice 李")
    assert (created.username, created.display_name, created.roles, created.active) == ("alice", "Alice 李", ("editor",), True)
    token, expires_at = book.login("alice", PASSWORD, now=T0, ttl=HOUR)
    assert expires_at == T0 + HOUR and len(token) >= 40
    account = book.authenticate(token, now=T0 + timedelta(minutes=59))
    assert account is not None and account.username == "alice" and account.has_role("editor")
    assert not account.has_role("admin") and not account.has_role("agent")
    assert book.authenticate(token + "x", now=T0) is None
    assert book.logout(token) is True
    assert book.authenticate(token, now=T0) is None
    assert book.logout(token) is False


def test_session_expires(book):
    book.create("alice", PASSWORD, ["agent"])
    token, _ = book.login("alice", PASSWORD, now=T0, ttl=HOUR)
    assert book.authenticate(token, now=T0 + HOUR - timedelta(seconds=1)) is not None
    assert book.authenticate(token, now=T0 + HOUR) is None


def test_unknown_user_and_wrong_password_are_the_same_error(book):
    book.create("alice", PASSWORD, ["agent"])
    with pytest.raises(InvalidCredentials) as unknown:
        book.login("nobody", PASSWORD, now=T0)
    with pytest.raises(InvalidCredentials) as wrong:
        book.login("alice", "wrong password!", now=T0)
    assert str(unknown.value) == str(wrong.value)


def test_disabled_account_cannot_log_in_and_its_sessions_end(book):
    book.create("alice", PASSWORD, ["agent"])
    token, _ = book.login("alice", PASSWORD, now=T0)
    book.set_active("alice", False)
    assert book.authenticate(token, now=T0) is None
    with pytest.raises(InvalidCredentials):
        book.login("alice", PASSWORD, now=T0)


def test_password_change_revokes_sessions(book):
    book.create("alice", PASSWORD, ["agent"])
    token, _ = book.login("alice", PASSWORD, now=T0)
    book.set_password("alice", "another long password")
    assert book.authenticate(token, now=T0) is None
    with pytest.raises(InvalidCredentials):
        book.login("alice", PASSWORD, now=T0)
    assert book.login("alice", "another long password", now=T0)[0]
    with pytest.raises(AccountNotFound):
        book.set_password("nobody", "another long password")


def test_revoked_session_is_refused(book):
    book.create("alice", PASSWORD, ["agent"])
    token, _ = book.login("alice", PASSWORD, now=T0)
    other, _ = book.login("alice", PASSWORD, now=T0)
    book.logout(token)
    assert book.authenticate(token, now=T0) is None
    assert book.authenticate(other, now=T0) is not None  # logging out ends one session, not all


def test_token_is_stored_hashed(book):
    book.create("alice", PASSWORD, ["agent"])
    token, _ = book.login("alice", PASSWORD, now=T0)
    with book.engine.connect() as connection:
        stored = connection.scalars(select(SessionRow.token_hash)).all()
    assert stored == [hash_token(token)] and token not in stored


def test_duplicate_username_is_refused(book):
    book.create("alice", PASSWORD, ["agent"])
    with pytest.raises(AccountExists, match="alice"):
        book.create("alice", "some other password", ["editor"])
    assert [a.username for a in book.list()] == ["alice"]


@pytest.mark.parametrize("username, password, roles, error", [
    ("alice", "short", ["agent"], WeakPassword),
    ("Alice", PASSWORD, ["agent"], InvalidAccount),
    ("al", PASSWORD, ["agent"], InvalidAccount),
    ("al ice", PASSWORD, ["agent"], InvalidAccount),
    ("alice", PASSWORD, ["root"], InvalidAccount),
    ("alice", PASSWORD, [], InvalidAccount),
])
def test_bad_accounts_are_refused_with_the_reason(book, username, password, roles, error):
    with pytest.raises(error):
        book.create(username, password, roles)
    assert book.list() == []


def test_list_and_admin_passes_every_role(book):
    book.create("root", PASSWORD, ["admin"])
    book.create("bob", PASSWORD, ["agent", "editor", "agent"])
    listed = book.list()
    assert [(a.username, a.roles) for a in listed] == [("bob", ("agent", "editor")), ("root", ("admin",))]
    assert all(listed[1].has_role(r) for r in ("agent", "editor", "admin"))
    assert listed[1].created_at == T0
