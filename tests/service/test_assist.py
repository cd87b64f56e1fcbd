import pytest

from tests.service.login import login_headers


@pytest.fixture(autouse=True)
def _as_an_agent(client):
    """/api/assist is for hotline agents: every request here carries an agent's login."""
    client.headers.update(login_headers(client, "agent-1", "agent"))


def test_agent_gets_the_guide_with_source_and_district(client):
    response = client.post("/api/assist", json={"question": "外地人怎么办居住证，要带什么", "district": "临江区", "top_k": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["decision"] == "answer"
    assert body["candidates"][0]["item_id"] == "T-JZ-001" and len(body["candidates"]) <= 3
    answer = body["answer"]
    assert answer["name"] == "居住证申领" and answer["version"] == 1
    assert "第1版" in answer["text"] and "居民身份证" in answer["text"]
    assert answer["district"]["phone"] == "0799-86654321"


def test_unknown_district_gives_no_variant_rather_than_a_guess(client):
    body = client.post("/api/assist", json={"question": "外地人怎么办居住证，要带什么", "district": "火星区"}).json()
    assert body["answer"]["district"] is None


def test_out_of_scope_has_no_answer(client):
    body = client.post("/api/assist", json={"question": "明天股市会涨吗"}).json()
    assert body["decision"] == "reject" and body["answer"] is None


def test_bad_assist_requests_are_422_with_reasons(client):
    assert client.post("/api/assist", json={"question": ""}).status_code == 422
    response = client.post("/api/assist", json={"question": "居住证", "top_k": 0})
    assert response.status_code == 422 and "top_k" in response.text
    assert client.post("/api/assist", json={"question": "居住证", "extra": 1}).status_code == 422


def test_the_agent_sees_how_a_slip_was_read(client):
    body = client.post("/api/assist", json={"question": "外地人怎么办居住症"}).json()
    assert body["searched"] == "外地人怎么办居住证"
    assert body["corrections"] == [{"typed": "居住症", "read_as": "居住证"}]
    assert body["candidates"][0]["item_id"] == "T-JZ-001"
