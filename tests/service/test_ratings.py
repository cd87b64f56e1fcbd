"""POST /api/ratings: a citizen rates a message they received; 201, again to change it, 404 for anything else."""

from datetime import datetime, timezone

from journal.log import ChatJournal
from tests.service.citizens import rate, say, sender_of


def _bot_message(client, sender: str, text: str = "居住证要带什么") -> str:
    return say(client, sender, text).json()["messages"][0]["id"]


def test_a_bot_message_is_rated_and_rating_again_changes_it(client):
    message_id = _bot_message(client, "web-r")
    first = rate(client, "web-r", message_id, True)
    assert first.status_code == 201 and first.json() == {"message_id": message_id, "useful": True}
    journal = ChatJournal(client.app.state.store.engine)
    assert journal.todo() == []

    again = rate(client, "web-r", message_id, False, reason="没说要几张照片，我电话13812345678")
    assert again.status_code == 201 and again.json() == {"message_id": message_id, "useful": False}
    [group] = journal.todo()
    assert (group.kind, group.count) == ("rated_useless", 1)
    assert group.examples == ("居住证要带什么（没说要几张照片，我电话138****5678）",)


def test_only_the_sender_who_received_a_message_may_rate_it(client):
    message_id = _bot_message(client, "web-r")
    _bot_message(client, "web-someone-else")  # a citizen of their own, with a cookie
    for sender, rated in (("web-someone-else", message_id), ("web-r", "0" * 32)):
        response = rate(client, sender, rated, False)
        assert response.status_code == 404 and response.json()["detail"]
    own = ChatJournal(client.app.state.store.engine).messages(sender_of(client, "web-r"))[0]
    assert own.role == "citizen"  # a citizen's own words are not theirs to rate
    assert rate(client, "web-r", own.id, True).status_code == 404


def test_a_persons_reply_can_be_rated(client):
    agent = ChatJournal(client.app.state.store.engine).record(sender_of(client, "web-a"), "web", "agent", "请带上户口本",
                                                              now=datetime.now(timezone.utc))
    response = rate(client, "web-a", agent, True)
    assert response.status_code == 201


def test_bad_ratings_are_422_with_the_field(client):
    message_id = _bot_message(client, "web-r")
    long = rate(client, "web-r", message_id, False, reason="长" * 201)
    assert long.status_code == 422 and "reason" in long.text
    missing = rate(client, "web-r", message_id)
    assert missing.status_code == 422 and "useful" in missing.text
    named = rate(client, "web-r", message_id, True, sender_id="web-someone-else")
    assert named.status_code == 422 and named.json()["detail"][0]["loc"] == ["body", "sender_id"]
