"""Conversations through ``/api/chat``, against the real Rasa server and action server: booking, hand-over,
typed replies to the bot's own choices, follow-ups about the guide in context.

The citizen's side only: what they type or click, what they read back. The
database is then checked for what a hall clerk or an agent would find.
"""

from __future__ import annotations

import re

import pytest

from bench.clients import WebCitizens
from hall.bookings import BookingBook
from hall.tickets import TicketDesk
from knowledge.database import make_engine

pytestmark = pytest.mark.integration

PHONE = "13812345678"
ID_NUMBER = "110101199003071234"


def _turn(citizens: WebCitizens, sender: str, text: str) -> dict:
    response = citizens.say(sender, text)
    assert response.status_code == 200, response.text
    body = response.json()
    for message in body["messages"]:
        assert PHONE not in message["text"] and ID_NUMBER not in message["text"], message["text"]
    return body


def _last(body: dict) -> dict:
    assert body["messages"], body
    return body["messages"][-1]


def test_a_citizen_books_queries_and_cancels_an_appointment(running, citizens):
    sender = "it-booking-1"
    # "办居住证" could be 申领 or 补领换领: the bot offers the choice instead of guessing
    offered = [b for m in _turn(citizens, sender, "我想预约办居住证")["messages"] for b in m["buttons"]]
    choice = next(b for b in offered if b["title"] == "居住证申领")
    hall_question = _last(_turn(citizens, sender, choice["payload"]))
    assert "哪个大厅" in hall_question["text"] and "居住证申领" in hall_question["text"], hall_question
    qingshan = next(b for b in hall_question["buttons"] if "青山区" in b["title"])

    date_question = _last(_turn(citizens, sender, qingshan["payload"]))
    assert date_question["buttons"], date_question
    first_day = date_question["buttons"][0]

    slot_question = _last(_turn(citizens, sender, first_day["payload"]))
    assert "可预约的时段" in slot_question["text"] and slot_question["buttons"], slot_question
    slot = slot_question["buttons"][0]

    assert "姓名" in _last(_turn(citizens, sender, slot["payload"]))["text"]
    assert "手机" in _last(_turn(citizens, sender, "我叫王秀英"))["text"]
    summary = _last(_turn(citizens, sender, PHONE))["text"]
    assert "居住证申领" in summary and "青山区政务服务中心" in summary and "138****5678" in summary, summary

    done = _last(_turn(citizens, sender, "确认"))["text"]
    reference = re.search(r"YY[2-9A-HJ-NP-Z]{10}", done)
    assert reference and "预约成功" in done, done

    engine = make_engine(running.sqlalchemy_url)
    booking = BookingBook(engine).find(reference.group(0), PHONE)
    assert (booking.item_code, booking.name, booking.hall_code, booking.slot_label) == (
        "JC-JZ-001", "王秀英", "JC-HALL-QS", slot["title"].split("（")[0])

    # elsewhere (another conversation) the reference and the phone are asked for
    other = "it-booking-elsewhere"
    assert "预约号" in _last(_turn(citizens, other, "我想查询预约"))["text"]
    _turn(citizens, other, reference.group(0).lower())
    found = _last(_turn(citizens, other, PHONE))["text"]
    assert reference.group(0) in found and "有效" in found, found

    # in the conversation that booked it, "取消刚才那个预约" needs neither, only a yes to the booking shown
    confirm = _last(_turn(citizens, sender, "哎呀那天有事，取消刚才那个预约"))
    assert reference.group(0) in confirm["text"] and "确认取消" in confirm["text"], confirm
    assert not BookingBook(engine).find(reference.group(0), PHONE).cancelled
    cancelled = _last(_turn(citizens, sender, "是的"))["text"]
    assert "已取消预约" in cancelled and reference.group(0) in cancelled, cancelled
    assert BookingBook(engine).find(reference.group(0), PHONE).cancelled
    engine.dispose()


def test_asking_for_a_person_opens_a_ticket_and_what_is_said_for_the_person_reaches_it(running, citizens):
    sender = "it-handover-1"
    _turn(citizens, sender, "居住证要带什么材料")
    _turn(citizens, sender, f"{ID_NUMBER} {PHONE}")
    body = _turn(citizens, sender, "办不成事，转人工")
    text = _last(body)["text"]
    number = re.search(r"BB[0-9A-Z]{8}", text)
    assert number and "工单号" in text, text
    assert body["handover"]["ticket"] == number.group(0)

    noted = _turn(citizens, sender, "我家在青山区长宁路，请尽快联系我")
    assert "已转给工作人员" in _last(noted)["text"] and noted["handover"]["ticket"] == number.group(0)

    engine = make_engine(running.sqlalchemy_url)
    ticket = TicketDesk(engine).get(number.group(0))
    engine.dispose()
    assert ticket.reason == "cannot_get_done" and ticket.item_code == "JC-JZ-001"
    said = [m.text for m in ticket.messages if m.role == "citizen"]
    assert said[-1] == "我家在青山区长宁路，请尽快联系我"
    assert any("138****5678" in line for line in said) and not any(PHONE in line or ID_NUMBER in line for line in said)


def test_typed_replies_to_the_bot_s_choices_are_read_against_them(running, citizens):
    sender = "it-offers-1"
    situations = _last(_turn(citizens, sender, "新生儿出生登记要什么材料"))
    assert situations["kind"] == "clarify" and len(situations["buttons"]) >= 2, situations
    chosen = _last(_turn(citizens, sender, "随他爸落户"))
    assert chosen["kind"] == "answer" and chosen["about"] == ["JC-HJ-002"], chosen
    assert "（婚生子女随父或随母落户）所需材料" in chosen["text"] and "父母结婚证" in chosen["text"], chosen
    follow_up = _last(_turn(citizens, sender, "出生多久内要报"))
    assert follow_up["about"] == ["JC-HJ-002"] and "一个月内" in follow_up["text"], follow_up


def test_a_family_is_asked_and_an_ordinal_answers_it(running, citizens):
    sender = "it-family-1"
    family = _last(_turn(citizens, sender, "公积金怎么提取"))
    assert family["kind"] == "clarify" and {"JC-GJJ-001", "JC-GJJ-002"} <= set(family["about"]), family
    second = family["buttons"][1]
    picked = _last(_turn(citizens, sender, "第二个"))
    assert picked["kind"] == "answer" and picked["about"] == [second["payload"].split('"')[3]], picked


def test_a_plea_a_guide_answers_is_answered_and_a_closed_ticket_gives_the_bot_back(running, citizens):
    sender = "it-plea-1"
    answered = _turn(citizens, sender, "我家娃刚生下来，要上户口，咋整")
    assert _last(answered)["about"] == ["JC-HJ-002"] and answered["handover"] is None, answered

    handed = _turn(citizens, sender, "转人工")
    number = handed["handover"]["ticket"]
    engine = make_engine(running.sqlalchemy_url)
    desk = TicketDesk(engine)
    from datetime import datetime, timezone

    desk.take(number, "agent-it", datetime.now(timezone.utc))
    assert _turn(citizens, sender, "您好，在吗")["messages"] == []  # the person holds it now
    desk.close(number, datetime.now(timezone.utc))
    engine.dispose()
    back = _turn(citizens, sender, "居住证要带什么材料")
    assert back["handover"] is None and _last(back)["about"] == ["JC-JZ-001"], back
