"""The agent console's API through HTTP: roles, a ticket's life, what the citizen sees, takeover, WeChat delivery."""

import logging
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from fastapi.testclient import TestClient

from actions.answers import answer_record
from hall.tickets import TicketDesk
from service.main import create_app
from service.rasa_client import RasaClient
from service.routes.agent import ENDED_TEXT, JOINED_TEXT
from tests.service.citizens import say, sender_of, updates
from tests.service.login import login_headers
from tests.service.wechat_fixtures import APP_ID, APP_SECRET, TOKEN, FakeWeChatApi


@pytest.fixture
def agent(client) -> dict[str, str]:
    return login_headers(client, "agent-1", "agent")


@pytest.fixture
def other_agent(client) -> dict[str, str]:
    return login_headers(client, "agent-2", "agent")


def _handover(client, fake_rasa, sender: str, *, minutes_ago: float = 0, reason: str = "human") -> str:
    """A ticket as the bot's hand-over opens it (the conversation so far; Rasa paused, as an earlier version left
    it, so that closing is seen to un-pause it); its number."""
    if not sender.startswith("wechat:"):  # a WeChat id is the openid's; a web one, the id the server issued
        sender = sender_of(client, sender)
    ticket = TicketDesk(client.app.state.store.engine).open(
        sender_id=sender, channel="rest", reason=reason, item_code="T-JZ-001", item_name="居住证申领",
        district="青山区", missing_materials=["居民户口簿"],
        transcript=[("citizen", "户口本丢了，电话13812345678"), ("bot", "已为您转接人工帮办")],
        now=datetime.now(timezone.utc) - timedelta(minutes=minutes_ago), reply_within=timedelta(minutes=30),
    )
    fake_rasa.paused.add(sender)
    return ticket.number


def _updates(client, sender: str, after: str = "") -> list[tuple[str, str]]:
    body = updates(client, sender, after).json()
    return [(m["role"], m["text"]) for m in body["messages"]]


# ---- who may ---------------------------------------------------------------------------------------------------

ROUTES = [
    ("GET", "/api/agent/tickets", None),
    ("GET", "/api/agent/tickets/BB23456789", None),
    ("POST", "/api/agent/tickets/BB23456789/take", None),
    ("POST", "/api/agent/tickets/BB23456789/reply", {"text": "您好"}),
    ("POST", "/api/agent/tickets/BB23456789/close", None),
    ("POST", "/api/agent/tickets/BB23456789/hand-back", None),
    ("GET", "/api/agent/conversations", None),
    ("POST", "/api/agent/takeover", {"sender_id": "web-x"}),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_agent_routes_need_the_agent_role(client, method, path, body):
    assert client.request(method, path, json=body).status_code == 401
    editor = login_headers(client, "editor-1", "editor")
    forbidden = client.request(method, path, json=body, headers=editor)
    assert forbidden.status_code == 403 and "agent" in forbidden.json()["detail"]


def test_an_admin_passes_the_agent_check(client):
    admin = login_headers(client, "root", "admin")
    assert client.get("/api/agent/tickets", headers=admin).status_code == 200


# ---- a ticket's life -------------------------------------------------------------------------------------------

def test_ticket_life_cycle_through_http(client, fake_rasa, agent, other_agent):
    sender = "web-life"
    last_bot = say(client, sender, "转人工").json()["messages"][0]["id"]
    number = _handover(client, fake_rasa, sender, minutes_ago=10)
    late = _handover(client, fake_rasa, "web-late", minutes_ago=40)

    waiting = client.get("/api/agent/tickets", params={"status": "waiting"}, headers=agent).json()["tickets"]
    assert [t["number"] for t in waiting] == [number, late]  # newest first
    first = waiting[0]
    assert (first["status"], first["reason"], first["sender_id"], first["assignee"]) == ("waiting", "human", sender_of(client, sender), None)
    assert (first["item_code"], first["item_name"], first["district"]) == ("T-JZ-001", "居住证申领", "青山区")
    assert first["missing_materials"] == ["居民户口簿"] and first["channel"] == "rest"
    assert first["first_response_seconds"] is None and first["overdue"] is False and waiting[1]["overdue"] is True

    detail = client.get(f"/api/agent/tickets/{number}", headers=agent).json()
    assert [(m["role"], m["text"]) for m in detail["messages"]] == [
        ("citizen", "户口本丢了，电话138****5678"), ("bot", "已为您转接人工帮办"),
    ]

    taken = client.post(f"/api/agent/tickets/{number}/take", headers=agent).json()
    assert (taken["status"], taken["assignee"]) == ("taken", "agent-1")
    assert _updates(client, sender, last_bot) == [("system", JOINED_TEXT)]
    assert client.post(f"/api/agent/tickets/{number}/take", headers=other_agent).status_code == 409

    replied = client.post(f"/api/agent/tickets/{number}/reply", json={"text": "您好，户口本可以先挂失补办"},
                          headers=agent)
    assert replied.status_code == 200
    assert 600 <= replied.json()["first_response_seconds"] < 700
    assert replied.json()["messages"][-1] == {**replied.json()["messages"][-1], "role": "agent",
                                              "text": "您好，户口本可以先挂失补办"}
    assert _updates(client, sender, last_bot) == [("system", JOINED_TEXT), ("agent", "您好，户口本可以先挂失补办")]
    assert client.post(f"/api/agent/tickets/{number}/reply", json={"text": "我也来"},
                       headers=other_agent).status_code == 409

    # while the person holds it, the citizen's words go to the ticket, not the bot
    held = say(client, sender, "好的谢谢").json()
    assert held["messages"] == [] and held["handover"]["status"] == "taken"

    closed = client.post(f"/api/agent/tickets/{number}/close", headers=agent).json()
    assert closed["status"] == "closed" and closed["first_response_seconds"] == replied.json()["first_response_seconds"]
    assert fake_rasa.events == [(sender_of(client, sender), "resume"), (sender_of(client, sender), "action")]
    assert _updates(client, sender, last_bot)[-1] == ("system", ENDED_TEXT)
    assert updates(client, sender).json()["handover"] is None

    again = say(client, sender, "居住证要多久").json()
    assert again["messages"][0]["text"] == "收到：居住证要多久" and again["handover"] is None
    assert [t["number"] for t in client.get("/api/agent/tickets", params={"status": "closed"},
                                            headers=agent).json()["tickets"]] == [number]


def test_hand_back_resumes_the_bot_and_the_ticket_can_be_taken_again(client, fake_rasa, agent):
    number = _handover(client, fake_rasa, "web-hb")
    client.post(f"/api/agent/tickets/{number}/take", headers=agent)
    handed = client.post(f"/api/agent/tickets/{number}/hand-back", headers=agent).json()
    assert handed["status"] == "handed_back" and fake_rasa.events == [(sender_of(client, "web-hb"), "resume"), (sender_of(client, "web-hb"), "action")]
    assert _updates(client, "web-hb")[-1] == ("system", ENDED_TEXT)
    assert say(client, "web-hb", "你好").json()["messages"][0]["text"] == "收到：你好"

    assert client.post(f"/api/agent/tickets/{number}/take", headers=agent).json()["status"] == "taken"
    closed = client.post(f"/api/agent/tickets/{number}/close", headers=agent)
    assert closed.json()["status"] == "closed"
    assert client.post(f"/api/agent/tickets/{number}/close", headers=agent).status_code == 409


def test_closing_a_handed_back_ticket_leaves_the_bot_alone(client, fake_rasa, agent):
    number = _handover(client, fake_rasa, "web-hb2")
    client.post(f"/api/agent/tickets/{number}/take", headers=agent)
    client.post(f"/api/agent/tickets/{number}/hand-back", headers=agent)
    told = _updates(client, "web-hb2")
    assert client.post(f"/api/agent/tickets/{number}/close", headers=agent).json()["status"] == "closed"
    assert fake_rasa.events == [(sender_of(client, "web-hb2"), "resume"), (sender_of(client, "web-hb2"), "action")] and _updates(client, "web-hb2") == told


def test_rasa_down_at_close_is_logged_not_fatal(client, fake_rasa, agent, caplog):
    number = _handover(client, fake_rasa, "web-down")
    client.post(f"/api/agent/tickets/{number}/take", headers=agent)
    fake_rasa.down = True
    with caplog.at_level(logging.ERROR, logger="service.routes.agent"):
        response = client.post(f"/api/agent/tickets/{number}/close", headers=agent)
    assert response.status_code == 200 and response.json()["status"] == "closed"
    assert "could not resume" in caplog.text
    assert _updates(client, "web-down")[-1] == ("system", ENDED_TEXT)


def test_unknown_tickets_bad_filters_and_moves_out_of_turn(client, fake_rasa, agent):
    assert client.get("/api/agent/tickets/BB23456789", headers=agent).status_code == 404
    assert client.post("/api/agent/tickets/BB23456789/take", headers=agent).status_code == 404
    assert client.get("/api/agent/tickets", params={"status": "lost"}, headers=agent).status_code == 422
    number = _handover(client, fake_rasa, "web-early")
    early = client.post(f"/api/agent/tickets/{number}/reply", json={"text": "您好"}, headers=agent)
    assert early.status_code == 409 and "waiting" in early.json()["detail"]
    assert client.post(f"/api/agent/tickets/{number}/hand-back", headers=agent).status_code == 409
    assert client.post(f"/api/agent/tickets/{number}/reply", json={"text": ""}, headers=agent).status_code == 422


# ---- conversations and takeover --------------------------------------------------------------------------------

def test_recent_conversations_say_which_are_held(client, fake_rasa, agent):
    say(client, "web-c1", "我电话13812345678")
    say(client, "web-c2", "你好")
    _handover(client, fake_rasa, "web-c1")
    conversations = client.get("/api/agent/conversations", headers=agent).json()["conversations"]
    assert [(c["sender_id"], c["channel"], c["last_text"], c["held"]) for c in conversations] == [
        (sender_of(client, "web-c2"), "web", "收到：你好", False),
        (sender_of(client, "web-c1"), "web", "收到：我电话138****5678", True),
    ]
    assert client.get("/api/agent/conversations", params={"limit": 1}, headers=agent).json()["conversations"][0][
        "sender_id"] == sender_of(client, "web-c2")


def test_takeover_opens_a_ticket_taken_by_the_caller_and_routes_the_citizen_to_the_person(client, fake_rasa, agent, other_agent,
                                                                        records):
    client.app.state.store.import_records(records, actor="seed")
    answer = answer_record(records[0], "fee", {r.code: r for r in records}.get).text
    fake_rasa.scripted["居住证收费吗"] = answer
    say(client, "web-t", "居住证收费吗")
    say(client, "web-t", "我电话13812345678，办不下来")

    response = client.post("/api/agent/takeover", json={"sender_id": sender_of(client, "web-t")}, headers=agent)
    assert response.status_code == 200
    ticket = response.json()
    assert (ticket["reason"], ticket["status"], ticket["assignee"], ticket["channel"]) == (
        "agent_takeover", "taken", "agent-1", "web")
    assert (ticket["item_code"], ticket["item_name"]) == ("T-JZ-001", "居住证申领")
    said = [(m["role"], m["text"]) for m in ticket["messages"]]
    assert said[:4] == [("citizen", "居住证收费吗"), ("bot", answer), ("citizen", "我电话138****5678，办不下来"),
                        ("bot", "收到：我电话138****5678，办不下来")]
    assert fake_rasa.events == []  # the ticket's state routes the citizen's messages; Rasa is not paused
    assert _updates(client, "web-t")[-1] == ("system", JOINED_TEXT)

    asked = len(fake_rasa.received)
    held = say(client, "web-t", "在吗").json()
    assert held["messages"] == [] and held["handover"]["ticket"] == ticket["number"]
    assert len(fake_rasa.received) == asked

    again = client.post("/api/agent/takeover", json={"sender_id": sender_of(client, "web-t")}, headers=agent)
    assert again.status_code == 200 and again.json()["number"] == ticket["number"]
    assert client.post("/api/agent/takeover", json={"sender_id": sender_of(client, "web-t")}, headers=other_agent).status_code == 409

    client.post(f"/api/agent/tickets/{ticket['number']}/close", headers=agent)
    assert fake_rasa.events[-2:] == [(sender_of(client, "web-t"), "resume"), (sender_of(client, "web-t"), "action")]
    assert say(client, "web-t", "你好").json()["messages"][0]["text"] == "收到：你好"


def test_takeover_of_a_waiting_handover_takes_that_ticket(client, fake_rasa, agent):
    number = _handover(client, fake_rasa, "web-w")
    ticket = client.post("/api/agent/takeover", json={"sender_id": sender_of(client, "web-w")}, headers=agent).json()
    assert (ticket["number"], ticket["reason"], ticket["status"]) == (number, "human", "taken")


def test_takeover_of_an_unknown_conversation_is_404(client, agent):
    response = client.post("/api/agent/takeover", json={"sender_id": "web-nobody"}, headers=agent)
    assert response.status_code == 404 and "web-nobody" in response.json()["detail"]
    assert client.post("/api/agent/takeover", json={"sender_id": "a b"}, headers=agent).status_code == 422


# ---- WeChat ----------------------------------------------------------------------------------------------------

def test_a_wechat_citizen_gets_the_reply_as_a_customer_service_message(settings, fake_rasa):
    api = FakeWeChatApi()
    configured = settings.model_copy(update={
        "wechat_token": TOKEN, "wechat_app_id": APP_ID, "wechat_app_secret": APP_SECRET,
        "wechat_api_base": "https://api.weixin.test",
    })
    rasa = RasaClient("http://rasa.test", 5.0, transport=httpx.MockTransport(fake_rasa.handler))
    with TestClient(create_app(configured, rasa=rasa, wechat_transport=httpx.MockTransport(api.handler))) as client:
        agent = login_headers(client, "agent-1", "agent")
        number = _handover(client, fake_rasa, "wechat:oCitizen1")
        client.post(f"/api/agent/tickets/{number}/take", headers=agent)
        client.post(f"/api/agent/tickets/{number}/reply", json={"text": "您好，请问哪里办不成？"}, headers=agent)
        client.post(f"/api/agent/tickets/{number}/close", headers=agent)
        assert api.texts("oCitizen1") == [JOINED_TEXT, "您好，请问哪里办不成？", ENDED_TEXT]
        assert fake_rasa.events == [("wechat:oCitizen1", "resume"), ("wechat:oCitizen1", "action")]
        ticket = client.get(f"/api/agent/tickets/{number}", headers=agent).json()
        assert ticket["first_response_seconds"] is not None
