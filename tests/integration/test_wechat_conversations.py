"""WeChat conversations against the real Rasa server and action server: signed messages to ``/wechat``, the
bot's buttons read back as a numbered menu, a number or the citizen's words picking from it."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from itertools import count

import httpx
import pytest
import xmltodict

from hall.tickets import TicketDesk
from journal.log import ChatJournal
from knowledge.database import make_engine
from tests.integration.conftest import WECHAT_TOKEN
from tests.service.wechat_fixtures import sign, text_xml

pytestmark = pytest.mark.integration
_MSG_IDS = count(int(time.time()))


def _say(settings, openid: str, text: str) -> str:
    """The passive reply's text (the bot answers within WeChat's budget here), or '' for "success"."""
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:8]
    response = httpx.post(f"{settings.api_url}/wechat", timeout=60, content=text_xml(openid, text, next(_MSG_IDS)),
                          params={"signature": sign(WECHAT_TOKEN, timestamp, nonce), "timestamp": timestamp,
                                  "nonce": nonce})
    assert response.status_code == 200, response.text
    if response.text == "success":
        return ""
    return xmltodict.parse(response.text)["xml"]["Content"]


def test_a_number_typed_on_wechat_picks_from_the_menu_and_a_closed_ticket_gives_the_bot_back(running):
    openid = f"oIntegration{uuid.uuid4().hex[:8]}"
    menu = _say(running, openid, "新生儿出生登记要什么材料")
    assert "回复数字选择" in menu and "1. 婚生子女随父或随母落户" in menu, menu
    chosen = _say(running, openid, "1")
    assert "（婚生子女随父或随母落户）所需材料" in chosen and "父母结婚证" in chosen, chosen

    handed = _say(running, openid, "转人工")
    assert "工单号" in handed, handed
    engine = make_engine(running.sqlalchemy_url)
    desk = TicketDesk(engine)
    ticket = desk.active_for(f"wechat:{openid}")
    desk.take(ticket.number, "agent-it", datetime.now(timezone.utc))
    assert _say(running, openid, "你好，在吗") == ""  # held by the person: nothing from the bot
    desk.close(ticket.number, datetime.now(timezone.utc))
    back = _say(running, openid, "居住证收钱不")
    assert "居住证" in back and "工单" not in back, back
    kinds = [m.kind for m in ChatJournal(engine).messages(f"wechat:{openid}") if m.role == "bot"]
    engine.dispose()
    assert "handover" in kinds and kinds[-1] == "answer", kinds
