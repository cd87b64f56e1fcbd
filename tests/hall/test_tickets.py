"""Handover tickets: opening (idempotently), masking, and the state machine, on SQLite and PostgreSQL."""

from datetime import timedelta

import pytest

from hall.errors import TicketNotFound, TicketStateError
from hall.tables import READABLE_ALPHABET
from hall.tickets import TicketDesk
from tests.hall.conftest import NOW

TRANSCRIPT = [
    ("citizen", "我要办居住证，身份证号11010119900307123X"),
    ("bot", "请问您在哪个区居住？"),
    ("citizen", "青山区，电话13812345678，材料不全怎么办"),
]


def open_ticket(desk: TicketDesk, sender_id: str = "web-1", **changes):
    data = dict(
        sender_id=sender_id, channel="web", reason="cannot_get_done", item_code="T-JZ-001", item_name="居住证申领",
        district="青山区", missing_materials=["劳动合同"], transcript=TRANSCRIPT, now=NOW,
        reply_within=timedelta(minutes=30),
    )
    data.update(changes)
    return desk.open(**data)


def test_open_records_the_handover_and_masks_the_transcript(desk):
    ticket = open_ticket(desk)
    assert ticket.number.startswith("BB") and len(ticket.number) == 10
    assert set(ticket.number[2:]) <= set(READABLE_ALPHABET)
    assert (ticket.status, ticket.reason, ticket.channel, ticket.district) == ("waiting", "cannot_get_done", "web", "青山区")
    assert ticket.missing_materials == ("劳动合同",) and ticket.active
    assert ticket.created_at == NOW and ticket.reply_due_at == NOW + timedelta(minutes=30)
    assert ticket.first_response_at is None and ticket.first_response_seconds is None
    stored = desk.get(ticket.number)
    assert [m.role for m in stored.messages] == ["citizen", "bot", "citizen"]
    texts = " ".join(m.text for m in stored.messages)
    assert "11010119900307123X" not in texts and "13812345678" not in texts
    assert "110*************3X" in texts and "138****5678" in texts


def test_open_is_idempotent_while_a_ticket_is_active(desk):
    first = open_ticket(desk)
    again = open_ticket(desk, reason="human", transcript=[("citizen", "人呢？")], now=NOW + timedelta(minutes=5))
    assert again.number == first.number and again.reason == "cannot_get_done"
    assert len(desk.get(first.number).messages) == 3
    assert desk.active_for("web-1").number == first.number
    assert open_ticket(desk, "web-2").number != first.number


def test_a_closed_ticket_lets_the_next_handover_open_a_new_one(desk):
    first = open_ticket(desk)
    desk.close(first.number, NOW + timedelta(minutes=1))
    assert desk.active_for("web-1") is None
    second = open_ticket(desk, now=NOW + timedelta(minutes=2))
    assert second.number != first.number and second.status == "waiting"


def test_the_full_journey_measures_the_first_response(desk):
    ticket = open_ticket(desk)
    taken = desk.take(ticket.number.lower(), "agent-7", NOW + timedelta(minutes=2))
    assert (taken.status, taken.assignee) == ("taken", "agent-7")
    assert desk.take(ticket.number, "agent-7", NOW + timedelta(minutes=3)).status == "taken"  # a double click
    replied = desk.reply(ticket.number, "agent-7", "您好，请留下电话13900001111以外的联系方式", NOW + timedelta(minutes=4))
    assert replied.first_response_seconds == 240
    assert replied.messages[-1].role == "agent" and "139****1111" in replied.messages[-1].text
    later = desk.reply(ticket.number, "agent-7", "还在吗？", NOW + timedelta(minutes=9))
    assert later.first_response_at == NOW + timedelta(minutes=4)  # only the first reply counts
    appended = desk.append(ticket.number, "citizen", "在的", NOW + timedelta(minutes=10))
    assert appended.messages[-1].text == "在的" and appended.messages[-1].at == NOW + timedelta(minutes=10)
    back = desk.hand_back(ticket.number, NOW + timedelta(minutes=11))
    assert back.status == "handed_back" and not back.active and desk.active_for("web-1") is None
    retaken = desk.take(ticket.number, "agent-8", NOW + timedelta(minutes=12))
    assert (retaken.status, retaken.assignee) == ("taken", "agent-8")
    closed = desk.close(ticket.number, NOW + timedelta(minutes=20))
    assert closed.status == "closed" and closed.closed_at == NOW + timedelta(minutes=20)


@pytest.mark.parametrize(
    "moves, illegal",
    [
        ([], lambda d, n: d.reply(n, "agent-7", "hi", NOW)),  # reply before take
        ([], lambda d, n: d.hand_back(n, NOW)),  # hand back what nobody took
        (["take"], lambda d, n: d.take(n, "agent-8", NOW)),  # taken by someone else
        (["take"], lambda d, n: d.reply(n, "agent-8", "hi", NOW)),  # reply by someone else
        (["close"], lambda d, n: d.close(n, NOW)),  # close twice
        (["close"], lambda d, n: d.take(n, "agent-7", NOW)),
        (["close"], lambda d, n: d.append(n, "citizen", "还在吗", NOW)),
        (["take", "hand_back"], lambda d, n: d.hand_back(n, NOW)),
    ],
)
def test_illegal_moves_are_refused_and_change_nothing(desk, moves, illegal):
    number = open_ticket(desk).number
    for move in moves:
        {"take": lambda: desk.take(number, "agent-7", NOW), "close": lambda: desk.close(number, NOW),
         "hand_back": lambda: desk.hand_back(number, NOW)}[move]()
    before = desk.get(number)
    with pytest.raises(TicketStateError):
        illegal(desk, number)
    assert desk.get(number) == before


def test_retaking_a_handed_back_ticket_is_refused_while_a_newer_one_is_active(desk):
    old = open_ticket(desk)
    desk.take(old.number, "agent-7", NOW)
    desk.hand_back(old.number, NOW)
    newer = open_ticket(desk, now=NOW + timedelta(minutes=1))
    assert newer.number != old.number
    with pytest.raises(TicketStateError, match="another active ticket"):
        desk.take(old.number, "agent-7", NOW)
    assert desk.get(old.number).status == "handed_back"


def test_list_newest_first_and_by_status(desk):
    first = open_ticket(desk, "web-1")
    second = open_ticket(desk, "web-2", now=NOW + timedelta(minutes=1))
    third = open_ticket(desk, "web-3", now=NOW + timedelta(minutes=2))
    desk.take(second.number, "agent-7", NOW)
    assert [t.number for t in desk.list()] == [third.number, second.number, first.number]
    assert [t.number for t in desk.list("waiting")] == [third.number, first.number]
    assert [t.number for t in desk.list("taken")] == [second.number]
    assert desk.list("closed") == []
    with pytest.raises(ValueError):
        desk.list("lost")


def test_unknown_tickets_and_bad_arguments(desk):
    with pytest.raises(TicketNotFound):
        desk.get("BBNOTHERE")
    with pytest.raises(TicketNotFound):
        desk.take("BBNOTHERE", "agent-7", NOW)
    with pytest.raises(ValueError, match="reason"):
        open_ticket(desk, reason="bored")
    with pytest.raises(ValueError, match="role"):
        open_ticket(desk, transcript=[("robot", "hi")])
    with pytest.raises(ValueError, match="timezone-aware"):
        open_ticket(desk, now=NOW.replace(tzinfo=None))


def test_overdue(desk):
    ticket = open_ticket(desk)
    assert not ticket.overdue(NOW + timedelta(minutes=29))
    assert ticket.overdue(NOW + timedelta(minutes=31))
    desk.take(ticket.number, "agent-7", NOW)
    replied = desk.reply(ticket.number, "agent-7", "您好", NOW + timedelta(minutes=40))
    assert not replied.overdue(NOW + timedelta(hours=2))
