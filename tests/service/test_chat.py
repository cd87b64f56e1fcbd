from datetime import datetime, timedelta, timezone

from hall.tickets import TicketDesk


def test_chat_relays_text_and_buttons(client, fake_rasa):
    response = client.post("/api/chat", json={"sender_id": "web-abc", "text": "办理居住证需要什么材料？"})
    assert response.status_code == 200
    assert response.json() == {
        "messages": [{"text": "收到：办理居住证需要什么材料？", "buttons": [{"title": "收费标准", "payload": "/ask_fee"}]}],
        "handover": None,
    }
    assert fake_rasa.received == [{"sender": "web-abc", "message": "办理居住证需要什么材料？"}]


def test_bad_requests_get_4xx_with_a_reason(client):
    assert client.post("/api/chat", json={"sender_id": "a b", "text": "hi"}).status_code == 422
    assert client.post("/api/chat", json={"sender_id": "ok", "text": ""}).status_code == 422
    too_long = client.post("/api/chat", json={"sender_id": "ok", "text": "长" * 2001})
    assert too_long.status_code == 422 and "2000" in too_long.text
    assert client.post("/api/chat", content=b"not json", headers={"content-type": "application/json"}).status_code == 422


def test_rasa_down_gives_503_and_a_clear_message(client, fake_rasa):
    fake_rasa.down = True
    response = client.post("/api/chat", json={"sender_id": "web-abc", "text": "你好"})
    assert response.status_code == 503
    assert "稍后再试" in response.json()["detail"]


def test_chat_page_is_served_with_local_assets(client):
    page = client.get("/")
    assert page.status_code == 200 and "/static/chat.js" in page.text
    script = client.get("/static/chat.js")
    assert script.status_code == 200 and "textContent" in script.text and "innerHTML" not in script.text


def _open_ticket(client, sender: str) -> str:
    desk = TicketDesk(client.app.state.store.engine)
    ticket = desk.open(
        sender_id=sender, channel="web", reason="human", item_code=None, item_name=None, district=None,
        missing_materials=[], transcript=[("citizen", "转人工")], now=datetime.now(timezone.utc),
        reply_within=timedelta(minutes=30),
    )
    return ticket.number


def test_while_a_person_holds_the_conversation_messages_go_to_the_ticket_not_the_bot(client, fake_rasa):
    number = _open_ticket(client, "web-held")
    response = client.post("/api/chat", json={"sender_id": "web-held", "text": "我的电话13812345678，请回电"})
    assert response.status_code == 200
    body = response.json()
    assert body["messages"] == [] and body["handover"]["ticket"] == number and body["handover"]["status"] == "waiting"
    assert fake_rasa.received == []
    stored = TicketDesk(client.app.state.store.engine).get(number).messages
    assert stored[-1].role == "citizen" and stored[-1].text == "我的电话138****5678，请回电"


def test_a_closed_ticket_gives_the_conversation_back_to_the_bot(client, fake_rasa):
    number = _open_ticket(client, "web-back")
    TicketDesk(client.app.state.store.engine).close(number, datetime.now(timezone.utc))
    body = client.post("/api/chat", json={"sender_id": "web-back", "text": "你好"}).json()
    assert body["messages"][0]["text"] == "收到：你好" and body["handover"] is None
