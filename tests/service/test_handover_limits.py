"""Hand-overs per address per hour: a flood from one address, whatever cookies it drops, stops opening tickets."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hall.tickets import TicketDesk
from tests.service.citizens import say


class TicketOpeningRasa:
    """Plays Rasa's hand-over: "转人工" opens a ticket unless the service said this address has none left."""

    def __init__(self, desk: TicketDesk):
        self.desk = desk
        self.allowed: list[bool] = []

    async def send(self, sender_id: str, text: str, metadata: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        allowed = bool((metadata or {}).get("handover_allowed", True))
        self.allowed.append(allowed)
        if text == "转人工" and allowed:
            ticket = self.desk.open(sender_id=sender_id, channel="web", reason="human", item_code=None,
                                    item_name=None, district=None, missing_materials=[],
                                    transcript=[("citizen", text)], now=datetime.now(timezone.utc),
                                    reply_within=timedelta(minutes=30))
            return [{"text": f"已为您转接人工，工单号 {ticket.number}"}]
        return [{"text": "请拨打12345"}]

    async def aclose(self) -> None:
        return None


def test_an_address_opening_hand_over_after_hand_over_is_told_to_call_once_its_hour_is_spent(client):
    desk = TicketDesk(client.app.state.store.engine)
    rasa = TicketOpeningRasa(desk)
    client.app.state.rasa = rasa
    limit = client.app.state.settings.handovers_per_address_per_hour
    for n in range(limit + 3):
        say(client, f"flood-{n}", "转人工")  # a new cookie each time, one address
    assert rasa.allowed == [True] * limit + [False] * 3
    assert len(desk.list()) == limit
    assert client.app.state.handovers.left("ip:203.0.113.9")  # another address is not affected


def test_questions_that_open_no_ticket_spend_none_of_the_hour(client):
    rasa = TicketOpeningRasa(TicketDesk(client.app.state.store.engine))
    client.app.state.rasa = rasa
    limit = client.app.state.settings.handovers_per_address_per_hour
    for n in range(limit + 2):
        say(client, f"asker-{n}", "居住证要带什么")
    say(client, "asker-last", "转人工")
    assert rasa.allowed == [True] * (limit + 3)
