"""POST /api/editor/preview and GET /api/editor/todo: roles, aspects, retrieval on the published base, 422, grouping."""

from datetime import datetime, timedelta, timezone

import pytest

from actions.answers import answer_record
from journal.log import ChatJournal
from knowledge.schema import Material
from knowledge.store import record_to_json
from service.routes.editor_tools import detect_aspect
from tests.service.citizens import rate, say
from tests.service.login import login_headers


@pytest.fixture
def editor(client) -> dict[str, str]:
    return login_headers(client, "editor-1", "editor")


def _preview(client, editor, record, question: str):
    return client.post("/api/editor/preview", json={"record": record, "question": question}, headers=editor)


@pytest.mark.parametrize("path", ["/api/editor/todo", "/api/editor/preview"])
def test_editor_tools_need_the_editor_role(client, path, records):
    method = "POST" if path.endswith("preview") else "GET"
    body = {"record": record_to_json(records[0]), "question": "居住证"} if method == "POST" else None
    assert client.request(method, path, json=body).status_code == 401
    agent = login_headers(client, "agent-1", "agent")
    assert client.request(method, path, json=body, headers=agent).status_code == 403


@pytest.mark.parametrize(("question", "aspect", "starts"), [
    ("办居住证要带什么材料", "materials", "【居住证申领】所需材料："),
    ("居住证办下来要多久", "time", "【居住证申领】法定时限"),
    ("办居住证收费吗", "fee", "【居住证申领】本事项不收费"),
    ("居住证在哪里办，电话多少", "place", "【居住证申领】办理地点"),
    ("居住证能在手机上办吗", "online", "【居住证申领】网办程度"),
    ("居住证的办理流程", "procedure", "【居住证申领】办理流程"),
    ("居住证", "overview", "【居住证申领】在居住地居住半年以上"),
])
def test_preview_answers_the_aspect_the_question_asks(client, editor, records, question, aspect, starts):
    response = _preview(client, editor, record_to_json(records[0]), question)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["aspect"] == aspect == detect_aspect(question)
    assert body["reply"]["text"].startswith(starts) and "第1版" in body["reply"]["text"]
    assert all(set(b) == {"title", "payload"} for b in body["reply"]["buttons"])


def test_preview_renders_the_draft_and_retrieves_on_the_published_base(client, editor, records):
    draft = records[0].model_copy(update={"version": 2, "materials": [Material(name="居住证明", form="原件")]})
    body = _preview(client, editor, record_to_json(draft), "外地人怎么办居住证，要带什么").json()
    assert "居住证明" in body["reply"]["text"] and "第2版" in body["reply"]["text"]
    assert body["retrieval"]["decision"] == "answer"
    top = body["retrieval"]["top"][0]
    assert (top["code"], top["name"]) == ("T-JZ-001", "居住证申领") and top["score"] > 0
    assert len(body["retrieval"]["top"]) <= 5 and body["would_answer_this_record"] is True

    new = records[0].model_copy(update={"code": "T-NEW-001", "name": "新事项"})
    assert _preview(client, editor, record_to_json(new), "外地人怎么办居住证，要带什么").json()[
        "would_answer_this_record"] is False
    out_of_scope = _preview(client, editor, record_to_json(records[0]), "明天股市会涨吗").json()
    assert out_of_scope["retrieval"]["decision"] == "reject" and out_of_scope["would_answer_this_record"] is False


def test_a_bundle_previews_its_overview_with_the_published_members(client, editor, records):
    body = _preview(client, editor, record_to_json(records[3]), "孩子出生要带什么材料").json()
    assert body["aspect"] == "overview"
    expected = answer_record(records[3], "overview", {r.code: r for r in records}.get)
    assert body["reply"]["text"] == expected.text and "居住证申领" in body["reply"]["text"]


def test_a_record_that_breaks_the_schema_is_422_with_field_paths(client, editor, records):
    broken = record_to_json(records[0])
    broken["materials"][0]["name"] = ""
    broken["promised_limit_days"] = -1
    response = _preview(client, editor, broken, "要带什么")
    assert response.status_code == 422
    fields = {p["field"] for p in response.json()["problems"]}
    assert {"materials[0].name", "promised_limit_days"} <= fields
    assert _preview(client, editor, {"code": "X-1"}, "要带什么").status_code == 422
    assert _preview(client, editor, record_to_json(records[0]), "").status_code == 422


def test_todo_lists_declined_questions_and_useless_answers_biggest_first(client, editor, fake_rasa, records):
    client.app.state.store.import_records(records, actor="seed")
    journal = ChatJournal(client.app.state.store.engine)
    now = datetime.now(timezone.utc)
    for minute, text in enumerate(["社保卡，怎么补办？", "社保卡怎么补办", "明天股市会涨吗"]):
        journal.note_unanswered(f"web-{minute}", text, "reject", now=now + timedelta(seconds=minute))
    fake_rasa.scripted["居住证要钱吗"] = answer_record(records[0], "fee", {r.code: r for r in records}.get).text
    for sender in ("web-r1", "web-r2", "web-r3"):
        message = say(client, sender, "居住证要钱吗").json()["messages"][0]
        rate(client, sender, message["id"], False, reason="没说工本费" if sender == "web-r1" else None)

    response = client.get("/api/editor/todo", headers=editor)
    assert response.status_code == 200
    groups = response.json()["groups"]
    assert [(g["kind"], g["count"], g["item_code"], g["item_name"]) for g in groups] == [
        ("rated_useless", 3, "T-JZ-001", "居住证申领"),
        ("unanswered", 2, None, None),
        ("unanswered", 1, None, None),
    ]
    assert groups[0]["key"] == "rated_useless:T-JZ-001"
    assert set(groups[0]["examples"]) == {"居住证要钱吗", "居住证要钱吗（没说工本费）"}
    assert groups[1]["key"] == "unanswered:社保卡怎么补办"
    assert groups[1]["examples"] == ["社保卡怎么补办", "社保卡，怎么补办？"]
    assert len(client.get("/api/editor/todo", params={"limit": 1}, headers=editor).json()["groups"]) == 1
