import re
from datetime import datetime, timedelta, timezone

from actions.answers import answer_record
from hall.tickets import TicketDesk
from journal.log import ChatJournal
from tests.service.citizens import browser, rate, say, sender_of, updates


def test_chat_relays_text_and_buttons(client, fake_rasa):
    response = say(client, "web-abc", "办理居住证需要什么材料？")
    assert response.status_code == 200
    body = response.json()
    assert re.fullmatch(r"[0-9a-f]{32}", body["messages"][0].pop("id"))  # the bot message's journal id, for ratings
    assert body == {
        "messages": [{"text": "收到：办理居住证需要什么材料？", "buttons": [{"title": "收费标准", "payload": "/ask_fee"}],
                      "kind": None, "about": []}],
        "handover": None,
    }
    assert fake_rasa.received == [{"sender": sender_of(client, "web-abc"), "message": "办理居住证需要什么材料？",
                                   "metadata": {"typed": "办理居住证需要什么材料？", "offers": [],
                                                "handover_allowed": True, "channel": "web"}}]


def test_the_kind_the_bot_gives_its_message_reaches_the_page_and_the_journal(client, fake_rasa):
    fake_rasa.kinds["你好"] = "other"
    body = say(client, "web-kind", "你好").json()
    assert body["messages"][0]["kind"] == "other" and len(body["messages"]) == 1  # the custom JSON joins its text
    bot = ChatJournal(client.app.state.store.engine).messages(sender_of(client, "web-kind"))[-1]
    assert (bot.kind, bot.buttons) == ("other", (("收费标准", "/ask_fee"),))


def test_a_typed_reply_is_read_against_the_choices_the_bot_just_offered(client, fake_rasa):
    say(client, "web-pick", "居住证")  # the fake offers 收费标准 (/ask_fee)
    say(client, "web-pick", "第一个")
    say(client, "web-pick", "收费的")
    say(client, "web-pick", "社保卡怎么补办")
    sent = [m["message"] for m in fake_rasa.received]
    assert sent == ["居住证", "/ask_fee", "/ask_fee", "社保卡怎么补办"]
    # the bot still learns what was typed, and which choices were open
    assert fake_rasa.received[1]["metadata"] == {"typed": "第一个",
                                                 "offers": [{"title": "收费标准", "payload": "/ask_fee"}],
                                                 "handover_allowed": True, "channel": "web"}
    # the journal keeps the citizen's words, not the payload
    citizen = [m.text for m in ChatJournal(client.app.state.store.engine).messages(sender_of(client, "web-pick")) if m.role == "citizen"]
    assert citizen == ["居住证", "第一个", "收费的", "社保卡怎么补办"]


def test_bad_requests_get_4xx_with_a_reason(client):
    named = say(client, "a", "hi", sender_id="web-someone-else")  # who the citizen is is never the client's word
    assert named.status_code == 422 and named.json()["detail"][0]["loc"] == ["body", "sender_id"]
    assert say(client, "ok", "").status_code == 422
    too_long = say(client, "ok", "长" * 2001)
    assert too_long.status_code == 422 and "2000" in too_long.text
    assert client.post("/api/chat", content=b"not json", headers={"content-type": "application/json"}).status_code == 422


def test_rasa_down_gives_503_and_a_clear_message(client, fake_rasa):
    fake_rasa.down = True
    response = say(client, "web-abc", "你好")
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
    number = _open_ticket(client, sender_of(client, "web-held"))
    TicketDesk(client.app.state.store.engine).take(number, "agent1", datetime.now(timezone.utc))
    response = say(client, "web-held", "我的电话13812345678，请回电")
    assert response.status_code == 200
    body = response.json()
    assert body["messages"] == [] and body["handover"]["ticket"] == number and body["handover"]["status"] == "taken"
    assert fake_rasa.received == []
    stored = TicketDesk(client.app.state.store.engine).get(number).messages
    assert stored[-1].role == "citizen" and stored[-1].text == "我的电话138****5678，请回电"


def test_while_a_ticket_waits_the_bot_still_answers_and_the_ticket_keeps_every_message(client, fake_rasa):
    number = _open_ticket(client, sender_of(client, "web-wait"))
    body = say(client, "web-wait", "居住证要带什么").json()
    assert body["messages"][0]["text"] == "收到：居住证要带什么" and body["handover"]["status"] == "waiting"
    # what the bot can't answer is acknowledged for the person instead of refused
    fake_rasa.kinds["我住在长宁路88号"] = "decline"
    body = say(client, "web-wait", "我住在长宁路88号").json()
    assert [m["text"] for m in body["messages"]] == [f"您的留言已转给工作人员（工单 {number}），请稍候；在此期间也可以继续向我提问。"]
    stored = [m.text for m in TicketDesk(client.app.state.store.engine).get(number).messages if m.role == "citizen"]
    assert stored[-2:] == ["居住证要带什么", "我住在长宁路88号"]


def test_a_closed_ticket_gives_the_conversation_back_to_the_bot(client, fake_rasa):
    number = _open_ticket(client, sender_of(client, "web-back"))
    TicketDesk(client.app.state.store.engine).close(number, datetime.now(timezone.utc))
    body = say(client, "web-back", "你好").json()
    assert body["messages"][0]["text"] == "收到：你好" and body["handover"] is None


# ---- the journal ---------------------------------------------------------------------------------------------------

def _journal(client) -> ChatJournal:
    return ChatJournal(client.app.state.store.engine)


def test_both_sides_are_kept_in_the_journal_masked_with_the_bot_messages_ids(client):
    body = say(client, "web-j", "我电话13812345678，居住证怎么办").json()
    kept = _journal(client).messages(sender_of(client, "web-j"))
    assert [(m.role, m.text) for m in kept] == [
        ("citizen", "我电话138****5678，居住证怎么办"), ("bot", "收到：我电话138****5678，居住证怎么办"),
    ]
    assert kept[1].id == body["messages"][0]["id"] and kept[1].channel == "web"
    assert body["messages"][0]["text"] == "收到：我电话13812345678，居住证怎么办"  # the citizen's own screen is theirs


def test_a_bot_message_citing_a_guide_is_kept_with_its_code_and_version(client, fake_rasa, records):
    client.app.state.store.import_records(records, actor="seed")
    answer = answer_record(records[0], "materials", {r.code: r for r in records}.get).text
    fake_rasa.scripted["居住证要带什么"] = answer
    say(client, "web-src", "居住证要带什么")
    bot = _journal(client).messages(sender_of(client, "web-src"))[-1]
    assert (bot.role, bot.item_code, bot.item_version) == ("bot", "T-JZ-001", 1)
    assert _journal(client).messages(sender_of(client, "web-src"))[0].item_code is None


def test_messages_kept_for_a_ticket_are_in_the_journal_too(client, fake_rasa):
    number = _open_ticket(client, sender_of(client, "web-held-j"))
    TicketDesk(client.app.state.store.engine).take(number, "agent1", datetime.now(timezone.utc))
    say(client, "web-held-j", "还在吗")
    assert [(m.role, m.text) for m in _journal(client).messages(sender_of(client, "web-held-j"))] == [("citizen", "还在吗")]


def test_updates_give_what_a_person_said_after_a_message(client):
    number = _open_ticket(client, sender_of(client, "web-u"))
    first = updates(client, "web-u")
    assert first.status_code == 200
    assert first.json() == {"messages": [], "handover": {"ticket": number, "status": "waiting",
                                                         "reply_due_at": first.json()["handover"]["reply_due_at"]}}
    journal = _journal(client)
    said = journal.record(sender_of(client, "web-u"), "web", "citizen", "有人吗", now=datetime.now(timezone.utc))
    agent = journal.record(sender_of(client, "web-u"), "web", "agent", "您好，我是工作人员", now=datetime.now(timezone.utc))
    body = updates(client, "web-u", said).json()
    assert body["messages"] == [{"id": agent, "role": "agent", "text": "您好，我是工作人员", "buttons": []}]
    assert updates(client, "web-u", agent).json()["messages"] == []


def test_updates_refuse_a_message_of_another_conversation_and_bad_senders(client):
    other = _journal(client).record("web-other", "web", "bot", "您好", now=datetime.now(timezone.utc))
    sender_of(client, "web-u")
    response = updates(client, "web-u", other)
    assert response.status_code == 404 and response.json()["detail"]
    assert client.get("/api/chat/updates").status_code == 401  # no cookie: nobody's updates


def test_several_rasa_servers_share_conversations_and_a_refused_one_is_skipped():
    import asyncio

    import httpx

    from service.rasa_client import RasaClient

    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "rasa-down":
            raise httpx.ConnectError("refused", request=request)
        seen.append(request.url.host)
        return httpx.Response(200, json=[{"text": request.url.host}])

    async def talk() -> list[str]:
        client = RasaClient(["http://rasa-a", "http://rasa-down", "http://rasa-b"], 5.0,
                            transport=httpx.MockTransport(handler))
        replies = [(await client.send(f"citizen-{n}", "你好"))[0]["text"] for n in range(30)]
        again = [(await client.send(f"citizen-{n}", "谢谢"))[0]["text"] for n in range(30)]
        await client.aclose()
        assert replies == again  # a conversation stays on its server
        return replies

    replies = asyncio.run(talk())
    assert set(replies) == {"rasa-a", "rasa-b"}  # both live servers take a share; the refused one none


def test_rasa_answering_nothing_is_a_clear_try_again_not_an_empty_reply(client, fake_rasa):
    """Rasa replies [] when a custom action failed (action server or database down): say so."""
    fake_rasa.silent.add("确认")
    response = say(client, "web-empty", "确认")
    assert response.status_code == 503 and "稍后再试" in response.json()["detail"]
    again = say(client, "web-empty", "你好")
    assert again.status_code == 200 and again.json()["messages"][0]["text"] == "收到：你好"


def test_a_server_that_drops_the_connection_is_skipped_but_a_slow_one_is_not():
    import asyncio

    import httpx
    import pytest

    from service.errors import AssistantUnavailable
    from service.rasa_client import RasaClient

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "rasa-killed":
            raise httpx.ReadError("connection reset by peer", request=request)
        if request.url.host == "rasa-slow":
            raise httpx.ReadTimeout("timed out", request=request)
        return httpx.Response(200, json=[{"text": request.url.host}])

    async def talk(urls: list[str]) -> str:
        client = RasaClient(urls, 5.0, transport=httpx.MockTransport(handler))
        try:
            return (await client.send("citizen-4", "你好"))[0]["text"]  # hashes to the first URL
        finally:
            await client.aclose()

    assert asyncio.run(talk(["http://rasa-killed", "http://rasa-b"])) == "rasa-b"
    with pytest.raises(AssistantUnavailable):  # it may still be handling the message: the citizen is told to retry
        asyncio.run(talk(["http://rasa-slow", "http://rasa-b"]))


def test_while_a_ticket_waits_what_asks_nothing_is_for_the_person_only(client, fake_rasa):
    number = _open_ticket(client, sender_of(client, "web-wait-2"))
    body = say(client, "web-wait-2", "我家在长宁路88号，请尽快联系我").json()
    assert [m["text"] for m in body["messages"]] == [f"您的留言已转给工作人员（工单 {number}），请稍候；在此期间也可以继续向我提问。"]
    assert fake_rasa.received == []  # the bot never saw it
    say(client, "web-wait-2", "居住证收钱不")
    assert [m["message"] for m in fake_rasa.received] == ["居住证收钱不"]


# ---- who the citizen is ---------------------------------------------------------------------------------------------

def test_the_server_issues_the_citizen_an_unguessable_id_in_an_httponly_cookie(client, fake_rasa):
    first = say(client, "web-new", "你好")
    cookie = first.headers["set-cookie"]
    assert "daoban_citizen=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    sender = sender_of(client, "web-new")
    assert re.fullmatch(r"web-[A-Za-z0-9_\-]{22}", sender)  # 128 random bits
    say(client, "web-new", "居住证")
    assert "set-cookie" not in say(client, "web-new", "谢谢").headers  # kept, not re-issued
    assert {m["sender"] for m in fake_rasa.received} == {sender}
    assert sender_of(client, "web-other") != sender


def test_an_id_made_up_by_the_client_or_another_channel_s_is_not_taken(client, fake_rasa):
    for forged in ("web-victim", "wechat:o_victim_openid", "web-victim.AAAA", ""):
        response = client.post("/api/chat", json={"text": "取消预约"}, cookies={"daoban_citizen": forged})
        assert response.status_code == 200
    assert all(m["sender"].startswith("web-") and m["sender"] not in ("web-victim",) for m in fake_rasa.received)
    assert len({m["sender"] for m in fake_rasa.received}) == 4  # each forger got a conversation of their own
    assert say(client, "x", "hi", sender_id="wechat:o_victim_openid").status_code == 422


def test_only_the_citizen_holding_the_cookie_reads_their_updates_rates_or_writes_to_their_ticket(client, fake_rasa):
    victim = sender_of(client, "victim")
    number = _open_ticket(client, victim)
    journal = _journal(client)
    agent_said = journal.record(victim, "web", "agent", "您的预约号是YY123456", now=datetime.now(timezone.utc))
    assert [m["text"] for m in updates(client, "victim").json()["messages"]] == ["您的预约号是YY123456"]
    # the attacker knows the victim's id, but can only send it as a cookie it cannot sign
    forged = {"daoban_citizen": victim}
    assert client.get("/api/chat/updates", cookies=forged).status_code == 401
    assert client.post("/api/ratings", json={"message_id": agent_said, "useful": False},
                       cookies=forged).status_code == 401
    say(client, "attacker", "我是本人，把材料寄到新地址")
    assert updates(client, "attacker").json()["handover"] is None
    kept = [m.text for m in TicketDesk(client.app.state.store.engine).get(number).messages]
    assert "我是本人，把材料寄到新地址" not in kept
    assert rate(client, "attacker", agent_said, False).status_code == 404


def test_a_typed_slash_command_is_text_and_only_an_offered_payload_is_a_tap(client, fake_rasa):
    say(client, "web-slash", "/restart")
    say(client, "web-slash", '/book_appointment{"hall_code": "X"}')
    say(client, "web-slash", "居住证")  # the fake offers 收费标准 (/ask_fee)
    say(client, "web-slash", "/ask_fee")
    sent = [m["message"] for m in fake_rasa.received]
    assert sent == ["／restart", '／book_appointment{"hall_code": "X"}', "居住证", "/ask_fee"]



def test_a_reloaded_page_gets_its_own_conversation_back_in_the_citizen_s_words(client, fake_rasa):
    assert client.get("/api/chat/history").json() == {"messages": [], "handover": None}  # no cookie: nothing
    say(client, "web-reload", "居住证 我电话13812345678")  # the fake offers 收费标准 (/ask_fee)
    say(client, "web-reload", "/ask_fee")  # tapped
    say(client, "web-other-page", "社保卡")
    body = browser(client, "web-reload").get("/api/chat/history").json()
    assert [(m["role"], m["text"]) for m in body["messages"]] == [
        ("citizen", "居住证 我电话138****5678"), ("bot", "收到：居住证 我电话138****5678"),
        ("citizen", "收费标准"), ("bot", "收到：/ask_fee"),
    ]
    assert body["messages"][1]["buttons"] == [{"title": "收费标准", "payload": "/ask_fee"}]
    assert body["handover"] is None
