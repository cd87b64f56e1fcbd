"""Staff logins for the service tests: a real account in the app's database, logged in through the API."""

from fastapi.testclient import TestClient

from accounts.service import AccountBook

PASSWORD = "a long test password"


def login_headers(client: TestClient, username: str, *roles: str) -> dict[str, str]:
    """Create an account with ``roles`` in the app's database, log in through the API, answer the bearer header."""
    AccountBook(client.app.state.store.engine).create(username, PASSWORD, roles)
    response = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.cookies.clear()  # each request says who it is by its header, never by the last login's cookie
    return {"Authorization": f"Bearer {response.json()['token']}"}
