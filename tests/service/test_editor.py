"""The editors' API through FastAPI, on SQLite and PostgreSQL."""

import pytest

from knowledge.store import record_to_json
from tests.conftest import make_item
from tests.service.login import login_headers

API = "/api/editor"


def _live(client, code: str, headers: dict) -> dict:
    return client.get(f"{API}/records/{code}", headers=headers).json()["published"]


def test_whole_flow_create_edit_diff_rollback_unpublish(editor_client, alice, bob):
    c = editor_client
    data = record_to_json(make_item("T-NEW-001", "新生儿落户"))
    created = c.put(f"{API}/records/T-NEW-001/draft", json={"data": data, "base_version": 0}, headers=alice)
    assert created.status_code == 200 and created.json()["version"] == 1
    assert c.get(f"{API}/records/T-NEW-001", headers=alice).json()["status"] == "draft"
    assert c.post(f"{API}/records/T-NEW-001/validate", headers=alice).json() == {"valid": True, "problems": []}
    published = c.post(f"{API}/records/T-NEW-001/publish", json={"draft_version": 1}, headers=bob)
    assert published.status_code == 200 and published.json()["version"] == 1

    record = c.get(f"{API}/records/T-NEW-001", headers=alice).json()
    assert (record["status"], record["version"], record["draft"]) == ("published", 1, None)
    edited = {**record["published"], "materials": [*record["published"]["materials"], {"name": "出生医学证明"}]}
    draft = c.put(f"{API}/records/T-NEW-001/draft", json={"data": edited, "base_version": 1}, headers=alice).json()
    pending = c.get(f"{API}/records/T-NEW-001/draft/diff", headers=alice).json()
    assert [(ch["op"], ch["path"]) for ch in pending["changes"]] == [("added", "materials[2]")]
    assert c.post(f"{API}/records/T-NEW-001/publish", json={"draft_version": draft["version"]},
                  headers=bob).json()["version"] == 2

    diff = c.get(f"{API}/records/T-NEW-001/diff", params={"from": 1, "to": 2}, headers=alice).json()
    [added] = diff["changes"]
    assert (added["op"], added["path"], added["old"], added["new"]["name"]) == ("added", "materials[2]", None, "出生医学证明")
    rolled = c.post(f"{API}/records/T-NEW-001/rollback", json={"to_version": 1}, headers=bob).json()
    assert rolled["version"] == 3
    assert c.get(f"{API}/records/T-NEW-001/diff", params={"from": 1, "to": 3}, headers=alice).json()["changes"] == []
    history = c.get(f"{API}/records/T-NEW-001/history", headers=alice).json()["versions"]
    assert [(v["version"], v["status"], v["actor"]) for v in history] == [
        (1, "superseded", "bob"), (2, "superseded", "bob"), (3, "published", "bob"),
    ]

    assert c.post(f"{API}/records/T-NEW-001/unpublish", headers=bob).status_code == 200
    listed = c.get(f"{API}/records", params={"status": "unpublished"}, headers=alice).json()
    assert [r["code"] for r in listed["records"]] == ["T-NEW-001"]
    audit = c.get(f"{API}/audit", params={"code": "T-NEW-001"}, headers=alice).json()["entries"]
    assert [(e["action"], e["actor"]) for e in audit] == [
        ("unpublish", "bob"), ("rollback", "bob"), ("publish", "bob"), ("draft", "alice"),
        ("publish", "bob"), ("draft", "alice"),
    ]


def test_list_and_search(editor_client, alice):
    found = editor_client.get(f"{API}/records", params={"q": "社会保障"}, headers=alice).json()
    assert found["total"] == 1 and found["records"][0] == {
        "code": "T-SB-002", "name": "社会保障卡挂失补换", "kind": "item", "status": "published", "version": 1,
        "draft_version": None,
    }
    assert editor_client.get(f"{API}/records", params={"kind": "nope"}, headers=alice).status_code == 422


EDITOR_ROUTES = [("get", "/records"), ("get", "/records/T-JZ-001"), ("get", "/audit"),
                 ("post", "/records/T-JZ-001/unpublish")]


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer "}, {"Authorization": "Bearer not-a-session"},
    {"X-Daoban-Editor": "alice"},  # the old stand-in header names nobody now
])
def test_every_editor_route_needs_an_editor(editor_client, headers, alice):
    for method, path in EDITOR_ROUTES:
        response = editor_client.request(method, f"{API}{path}", headers=headers)
        assert response.status_code == 401, (method, path)
        assert response.headers["WWW-Authenticate"].startswith("Bearer") and "log" in response.json()["detail"]
    assert editor_client.get("/api/editor/records/T-JZ-001", headers=alice).status_code == 200


def test_editor_routes_refuse_other_roles_and_let_admins_in(editor_client):
    agent = login_headers(editor_client, "carol", "agent")
    for method, path in EDITOR_ROUTES:
        response = editor_client.request(method, f"{API}{path}", headers=agent)
        assert response.status_code == 403, (method, path)
        assert "editor" in response.json()["detail"]
    admin = login_headers(editor_client, "root", "admin")
    assert editor_client.post(f"{API}/records/T-JZ-001/unpublish", headers=admin).status_code == 200
    audit = editor_client.get(f"{API}/audit", params={"code": "T-JZ-001"}, headers=admin).json()["entries"]
    assert (audit[0]["action"], audit[0]["actor"]) == ("unpublish", "root")  # the account's name, not a header's


def test_unknown_records_and_versions_are_404(editor_client, alice):
    c = editor_client
    assert c.get(f"{API}/records/T-NOPE", headers=alice).status_code == 404
    assert c.post(f"{API}/records/T-JZ-001/publish", json={"draft_version": 1}, headers=alice).status_code == 404
    assert c.post(f"{API}/records/T-JZ-001/validate", headers=alice).status_code == 404
    missing = c.get(f"{API}/records/T-JZ-001/diff", params={"from": 1, "to": 9}, headers=alice)
    assert missing.status_code == 404 and "version 9" in missing.json()["detail"]
    assert c.post(f"{API}/records/T-NOPE/unpublish", headers=alice).status_code == 404


def test_two_editors_on_the_same_version_the_second_gets_409_with_a_reason(editor_client, alice, bob):
    c = editor_client
    live = _live(c, "T-JZ-001", alice)
    first = c.put(f"{API}/records/T-JZ-001/draft", json={"data": {**live, "visits": 0}, "base_version": 1}, headers=alice)
    second = c.put(f"{API}/records/T-JZ-001/draft", json={"data": {**live, "visits": 2}, "base_version": 1}, headers=bob)
    assert first.status_code == 200 and second.status_code == 409
    body = second.json()
    assert body["code"] == "T-JZ-001" and body["actual"] == 1 and "alice" in body["detail"]
    # a publish of a save the reviewer did not see is refused as well
    c.put(f"{API}/records/T-JZ-001/draft", json={"data": live, "base_version": 1, "draft_version": 1}, headers=alice)
    assert c.post(f"{API}/records/T-JZ-001/publish", json={"draft_version": 1}, headers=bob).status_code == 409


def test_schema_problems_are_422_with_field_paths(editor_client, alice):
    c = editor_client
    live = _live(c, "T-JZ-001", alice)
    live["materials"][0]["copies"] = 99
    del live["summary"]
    assert c.put(f"{API}/records/T-JZ-001/draft", json={"data": live, "base_version": 1}, headers=alice).status_code == 200
    report = c.post(f"{API}/records/T-JZ-001/validate", headers=alice).json()
    assert not report["valid"] and {p["field"] for p in report["problems"]} == {"materials[0].copies", "summary"}
    refused = c.post(f"{API}/records/T-JZ-001/publish", json={"draft_version": 1}, headers=alice)
    assert refused.status_code == 422
    assert {p["field"] for p in refused.json()["problems"]} == {"materials[0].copies", "summary"}

    wrong_code = c.put(f"{API}/records/T-SB-002/draft", json={"data": _live(c, "T-JZ-001", alice), "base_version": 1},
                       headers=alice)
    assert wrong_code.status_code == 422 and wrong_code.json()["problems"][0]["field"] == "code"
    assert c.put(f"{API}/records/T-SB-002/draft", json={"data": {}}, headers=alice).status_code == 422
    assert c.put(f"{API}/records/bad code!/draft", json={"data": {}, "base_version": 0}, headers=alice).status_code == 422
