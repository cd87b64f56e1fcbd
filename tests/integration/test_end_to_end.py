"""The whole path, for real: web API → Rasa server → action server → index → knowledge base.

Starts the three processes on free ports in an instance of its own (the cached
virtualenvs, embedding model and trained Rasa model are shared), so it runs
beside a `make run` instance without touching it.
"""

from __future__ import annotations

import httpx
import pytest

from bench.clients import WebCitizens

pytestmark = pytest.mark.integration


def _chat(citizens: WebCitizens, sender: str, text: str) -> list[dict]:
    response = citizens.say(sender, text)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def test_health_reports_every_component_up(running):
    body = httpx.get(f"{running.api_url}/healthz", timeout=10).json()
    assert body["status"] == "ok"
    assert all(c["up"] for c in body["components"].values()), body


def test_residence_permit_materials_are_answered_from_the_guide(running, citizens):
    messages = _chat(citizens, "it-citizen-1", "办理居住证需要什么材料？")
    text = messages[0]["text"]
    assert text.startswith("【居住证申领】所需材料"), text
    assert "第1版" in text and "居民身份证" in text
    assert "请选择您的情形" in text, text

    situation = messages[0]["buttons"][0]
    chosen = _chat(citizens, "it-citizen-1", situation["payload"])[0]
    assert chosen["text"].startswith(f"【居住证申领】（{situation['title']}）所需材料"), chosen["text"]
    assert any(b["title"] == "收费标准" for b in chosen["buttons"])

    follow_up = _chat(citizens, "it-citizen-1", "要钱吗？")[0]["text"]
    assert follow_up.startswith("【居住证申领】"), follow_up


def test_a_newly_imported_guide_is_answered_without_retraining(running, citizens):
    from knowledge.runtime import open_store
    from tests.conftest import make_item

    item = make_item(
        "T-NEW-001", "惠民保参保登记", aliases=["惠民保", "城市定制型商业医疗保险"],
        questions=["惠民保怎么参加", "惠民保要交多少钱"], domain="医保", situations=[],
        summary="江川市城市定制型商业医疗保险（惠民保）个人参保登记。",
        fee={"charged": True, "standard": "每人每年89元"},
    )
    open_store(running).import_records([item], actor="integration-test")
    text = _chat(citizens, "it-citizen-2", "惠民保要交多少钱？")[0]["text"]
    assert text.startswith("【惠民保参保登记】收费标准：每人每年89元"), text


def test_out_of_scope_question_is_declined(running, citizens):
    text = _chat(citizens, "it-citizen-3", "推荐一只明天会涨的股票")[0]["text"]
    assert "12345" in text and "【" not in text
