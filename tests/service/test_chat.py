def test_chat_relays_text_and_buttons(client, fake_rasa):
    response = client.post("/api/chat", json={"sender_id": "web-abc", "text": "办理居住证需要什么材料？"})
    assert response.status_code == 200
    assert response.json() == {
        "messages": [{"text": "收到：办理居住证需要什么材料？", "buttons": [{"title": "收费标准", "payload": "/ask_fee"}]}]
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
