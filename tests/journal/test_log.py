"""The journal on SQLite and PostgreSQL: recording (masked, ordered), polling after a message, ratings, the to-do list."""

import re
from datetime import datetime, timedelta, timezone

import pytest

from journal import log
from journal.errors import InvalidEntry, MessageNotFound
from journal.log import ChatJournal, normalise_question
from tests.journal.conftest import NOW

SOURCE = "\n（来源：《居住证申领》办事指南 第1版，更新于2026-10-15）"


def _said(journal: ChatJournal, sender: str, *lines: tuple[str, str], now=NOW) -> list[str]:
    """Record (role, text) lines, all at the same moment, as one chat turn is; their ids."""
    return [journal.record(sender, "web", role, text, now=now) for role, text in lines]


def test_a_message_is_kept_masked_with_a_uuid_id(journal):
    message_id = journal.record("web-1", "web", "citizen", "我的电话13812345678，身份证110101199003071234",
                                now=NOW)
    assert re.fullmatch(r"[0-9a-f]{32}", message_id)
    [kept] = journal.messages("web-1")
    assert (kept.id, kept.role, kept.channel) == (message_id, "citizen", "web")
    assert kept.text == "我的电话138****5678，身份证110*************34"
    assert kept.at == NOW and kept.item_code is None


def test_messages_of_one_moment_keep_their_order(journal):
    ids = _said(journal, "web-1", ("citizen", "你好"), ("bot", "一"), ("bot", "二"), ("bot", "三"))
    kept = journal.messages("web-1")
    assert [m.id for m in kept] == ids
    assert all(a.at < b.at for a, b in zip(kept, kept[1:]))  # moved apart by a microsecond each
    assert journal.messages("web-1", limit=2) == kept[2:]


def test_after_gives_what_followed_a_message_in_the_roles_asked(journal):
    first_bot, = _said(journal, "web-1", ("bot", "您好"))
    _said(journal, "web-1", ("citizen", "转人工"), ("system", "工作人员已接入"), ("agent", "您好，请讲"),
          now=NOW + timedelta(minutes=1))
    _said(journal, "web-2", ("agent", "别人的会话"), now=NOW + timedelta(minutes=1))

    later = journal.after("web-1", first_bot, ("agent", "system"))
    assert [(m.role, m.text) for m in later] == [("system", "工作人员已接入"), ("agent", "您好，请讲")]
    assert journal.after("web-1", later[-1].id, ("agent", "system")) == []
    assert [m.text for m in journal.after("web-1", None, ("agent",))] == ["您好，请讲"]
    assert len(journal.after("web-1", None)) == 4


def test_after_an_unknown_or_someone_elses_message_is_refused(journal):
    other, = _said(journal, "web-2", ("bot", "您好"))
    for after in ("0" * 32, other):
        with pytest.raises(MessageNotFound):
            journal.after("web-1", after, ("agent",))


def test_bad_entries_are_refused_with_the_value(journal):
    with pytest.raises(InvalidEntry, match="'robot'"):
        journal.record("web-1", "web", "robot", "hi", now=NOW)
    with pytest.raises(InvalidEntry, match="'maybe'"):
        journal.note_unanswered("web-1", "hi", "maybe", now=NOW)
    with pytest.raises(InvalidEntry, match="limit"):
        journal.todo(0)
    with pytest.raises(ValueError, match="timezone-aware"):
        journal.record("web-1", "web", "bot", "hi", now=NOW.replace(tzinfo=None))


def test_a_rating_needs_a_message_the_sender_received(journal):
    citizen, bot = _said(journal, "web-1", ("citizen", "居住证要带什么"), ("bot", "【居住证申领】所需材料：" + SOURCE))
    other, = _said(journal, "web-2", ("bot", "您好"))
    for sender, message_id in (("web-1", citizen), ("web-1", other), ("web-2", bot), ("web-1", "0" * 32)):
        with pytest.raises(MessageNotFound):
            journal.rate(sender, message_id, False, None, now=NOW)
    rating = journal.rate("web-1", bot, False, "  我电话13812345678，材料写得不清楚  ", now=NOW)
    assert (rating.useful, rating.reason) == (False, "我电话138****5678，材料写得不清楚")


def test_rating_again_replaces_the_rating(journal):
    _, bot = _said(journal, "web-1", ("citizen", "居住证要带什么"), ("bot", "【居住证申领】所需材料：" + SOURCE))
    journal.rate("web-1", bot, False, None, now=NOW)
    journal.rate("web-1", bot, False, "太长", now=NOW)
    [group] = journal.todo()
    assert (group.kind, group.count, group.examples) == ("rated_useless", 1, ("居住证要带什么（太长）",))
    journal.rate("web-1", bot, True, None, now=NOW)
    assert journal.todo() == []


def test_questions_are_grouped_by_their_normalised_text(journal):
    assert normalise_question("社保卡，怎么 补办？！") == normalise_question("社保卡怎么补办") == "社保卡怎么补办"
    assert normalise_question("ＡＢＣ 证明") == "abc证明"
    for minute, text in enumerate(["社保卡，怎么 补办？", "社保卡怎么补办", "明天股市会涨吗", "社保卡怎么补办！"]):
        journal.note_unanswered(f"web-{minute}", text, "reject", now=NOW + timedelta(minutes=minute))
    groups = journal.todo()
    assert [(g.key, g.count) for g in groups] == [("unanswered:社保卡怎么补办", 3), ("unanswered:明天股市会涨吗", 1)]
    assert groups[0].examples == ("社保卡怎么补办！", "社保卡怎么补办", "社保卡，怎么 补办？")  # newest first
    assert groups[0].last_at == NOW + timedelta(minutes=3) and groups[0].item_code is None


def test_unanswered_questions_are_kept_masked(journal):
    journal.note_unanswered("web-1", "我电话13812345678查下彩票", "fallback", now=NOW)
    [group] = journal.todo()
    assert group.examples == ("我电话138****5678查下彩票",)


def test_answers_rated_useless_are_grouped_by_guide_biggest_first(journal):
    def answered(sender, question, answer, item_code, useful, reason=None, minutes=0):
        at = NOW + timedelta(minutes=minutes)
        journal.record(sender, "web", "citizen", question, now=at)
        bot = journal.record(sender, "web", "bot", answer, item_code, 1 if item_code else None, now=at)
        journal.rate(sender, bot, useful, reason, now=at)

    answered("web-1", "居住证要带什么", "【居住证申领】所需材料" + SOURCE, "T-JZ-001", False, "看不懂")
    answered("web-2", "居住证多久", "【居住证申领】法定时限" + SOURCE, "T-JZ-001", False, minutes=1)
    answered("web-3", "居住证在哪办", "【居住证申领】办理地点" + SOURCE, "T-JZ-001", True, minutes=2)
    answered("web-4", "身份证丢了", "【居民身份证补领】…", "T-SFZ-003", False, minutes=3)
    answered("web-5", "你好", "您好，请问您要办什么？", None, False, minutes=4)
    journal.note_unanswered("web-6", "明天股市会涨吗", "reject", now=NOW + timedelta(minutes=5))

    groups = journal.todo()
    assert [(g.key, g.kind, g.count, g.item_code) for g in groups] == [
        ("rated_useless:T-JZ-001", "rated_useless", 2, "T-JZ-001"),
        ("unanswered:明天股市会涨吗", "unanswered", 1, None),  # ties: the latest first
        ("rated_useless:", "rated_useless", 1, None),
        ("rated_useless:T-SFZ-003", "rated_useless", 1, "T-SFZ-003"),
    ]
    assert groups[0].examples == ("居住证多久", "居住证要带什么（看不懂）")
    assert [g.key for g in journal.todo(limit=2)] == ["rated_useless:T-JZ-001", "unanswered:明天股市会涨吗"]


def test_recent_conversations_newest_first_one_each(journal, monkeypatch):
    monkeypatch.setattr(log, "_SCAN_BATCH", 2)  # walk the log in several batches
    for minute, (sender, text) in enumerate([("web-a", "一"), ("web-b", "二"), ("web-a", "三"), ("web-a", "四"),
                                             ("wechat:o1", "我的电话13812345678"), ("web-c", "五")]):
        journal.record(sender, "wechat" if sender.startswith("wechat") else "web", "citizen", text,
                       now=NOW + timedelta(minutes=minute))
    conversations = journal.recent_conversations(limit=3)
    assert [(c.sender_id, c.channel, c.last_text) for c in conversations] == [
        ("web-c", "web", "五"), ("wechat:o1", "wechat", "我的电话138****5678"), ("web-a", "web", "四"),
    ]
    assert [c.sender_id for c in journal.recent_conversations()] == ["web-c", "wechat:o1", "web-a", "web-b"]
    assert conversations[0].last_at == NOW + timedelta(minutes=5)


def test_a_tap_reads_as_the_title_of_the_choice_it_was_offered_in():
    from journal.log import JournalMessage, in_people_s_words

    def message(role: str, text: str, buttons=()) -> JournalMessage:
        return JournalMessage(id=text, sender_id="s", channel="web", role=role, text=text, item_code=None,
                              item_version=None, at=datetime(2026, 12, 3, tzinfo=timezone.utc), buttons=buttons)

    said = [message("citizen", "居住证"), message("bot", "哪一项？", (("申领", "/ask_item{\"c\":1}"), ("签注", "/x"))),
            message("citizen", "/x"), message("bot", "好的"), message("citizen", "/x")]
    assert [m.text for m in in_people_s_words(said)] == ["居住证", "哪一项？", "签注", "好的", "/x"]
