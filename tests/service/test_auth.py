"""Staff login through the API: tokens and cookies, roles on the agents' and editors' routes, citizens anonymous."""

from datetime import datetime, timedelta, timezone

import pytest

from accounts.service import AccountBook
from service.deps import SESSION_COOKIE
from tests.service.citizens import say
from tests.service.login import PASSWORD, login_headers

ASSIST = {"question": "外地人怎么办居住证，要带什么"}


@pytest.fixture
def book(client) -> AccountBook:
    return AccountBook(client.app.state.store.engine)


def test_login_answers_a_token_and_sets_a_strict_httponly_cookie(client, book, settings):
    book.create("alice", PASSWORD, ["editor", "agent"], display_name="李爱丽")
    before = datetime.now(timezone.utc)
    response = client.post("/api/auth/login", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["roles"] == ["editor", "agent"] and len(body["token"]) >= 40
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert timedelta(0) < expires_at - before - timedelta(minutes=settings.session_ttl_minutes) < timedelta(minutes=1)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}={body['token']};")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=28800" in cookie
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['token']}"}).json()
    assert me == {"username": "alice", "display_name": "李爱丽", "roles": ["editor", "agent"]}


def test_bad_credentials_are_401_with_one_reason_for_both(client, book):
    book.create("alice", PASSWORD, ["editor"])
    wrong = client.post("/api/auth/login", json={"username": "alice", "password": "not the password"})
    unknown = client.post("/api/auth/login", json={"username": "nobody", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "username or password is wrong"}
    assert "set-cookie" not in wrong.headers
    assert client.post("/api/auth/login", json={"username": "alice"}).status_code == 422


def test_cookie_login_works_for_a_get_and_logout_ends_it(client, book):
    book.create("alice", PASSWORD, ["editor"])
    assert client.post("/api/auth/login", json={"username": "alice", "password": PASSWORD}).status_code == 200
    assert client.cookies.get(SESSION_COOKIE)  # the test client keeps it, as a browser would
    token = client.cookies.get(SESSION_COOKIE)
    assert client.get("/api/auth/me").json()["username"] == "alice"
    assert client.get("/api/editor/records").status_code == 200
    logout = client.post("/api/auth/logout")
    assert logout.status_code == 204 and SESSION_COOKIE not in client.cookies
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.post("/api/auth/logout").status_code == 204  # twice is fine


def test_no_token_is_401_with_a_bearer_challenge(client):
    for method, path, body in [("get", "/api/auth/me", None), ("post", "/api/assist", ASSIST),
                               ("get", "/api/editor/records", None)]:
        response = client.request(method, path, json=body)
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"] == "Bearer" and "login" in response.json()["detail"]


def test_assist_needs_an_agent_and_admin_passes(client):
    editor = login_headers(client, "editor-1", "editor")
    refused = client.post("/api/assist", json=ASSIST, headers=editor)
    assert refused.status_code == 403 and "agent" in refused.json()["detail"]
    assert client.post("/api/assist", json=ASSIST, headers=login_headers(client, "agent-1", "agent")).status_code == 200
    admin = login_headers(client, "root", "admin")
    assert client.post("/api/assist", json=ASSIST, headers=admin).status_code == 200
    assert client.get("/api/editor/records", headers=admin).status_code == 200


def test_expired_session_is_401(client, book):
    book.create("alice", PASSWORD, ["agent"])
    token, _ = book.login("alice", PASSWORD, now=datetime.now(timezone.utc) - timedelta(hours=2),
                          ttl=timedelta(hours=1))
    response = client.post("/api/assist", json=ASSIST, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and "expired" in response.json()["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_disabled_account_is_locked_out_at_once(client, book):
    headers = login_headers(client, "alice", "agent")
    book.set_active("alice", False)
    assert client.post("/api/assist", json=ASSIST, headers=headers).status_code == 401


def test_citizens_stay_anonymous(client):
    assert say(client, "citizen-1", "居住证").status_code == 200
    assert client.get("/").status_code == 200


def test_password_guessing_is_slowed_per_username_then_429_even_with_the_right_password(client, book, settings):
    book.create("alice", PASSWORD, ["editor"])
    guesses = [client.post("/api/auth/login", json={"username": "alice", "password": f"guess-{n}"})
               for n in range(settings.login_attempts_per_minute)]
    assert {r.status_code for r in guesses} == {401}
    blocked = client.post("/api/auth/login", json={"username": "Alice", "password": PASSWORD})
    assert blocked.status_code == 429 and blocked.headers["Retry-After"] == "60"
    assert "频繁" in blocked.json()["detail"] and "set-cookie" not in blocked.headers
    book.create("bob", PASSWORD, ["agent"])  # another username from the same address still gets in
    assert client.post("/api/auth/login", json={"username": "bob", "password": PASSWORD}).status_code == 200


def test_one_address_trying_many_usernames_is_stopped_too(client, settings):
    from service.main import ADDRESS_LOGIN_FACTOR

    tries = [client.post("/api/auth/login", json={"username": f"user{n}", "password": "x"})
             for n in range(ADDRESS_LOGIN_FACTOR * settings.login_attempts_per_minute + 1)]
    assert [r.status_code for r in tries[:-1]] == [401] * (len(tries) - 1) and tries[-1].status_code == 429
