"""The dialogue benchmark's own checks (bench/dialogues.py) and the conversations it plays."""

from datetime import datetime, timezone

import pytest

from bench.dialogues import BASES, DIALOGUES_DIR, Expect, Reply, check, load_dialogues
from journal.log import JournalMessage


def _message(kind: str, text: str, item_code: str | None = None, about=(), buttons=()) -> JournalMessage:
    return JournalMessage(id="m", sender_id="s", channel="web", role="bot", text=text, item_code=item_code,
                          item_version=1 if item_code else None, at=datetime.now(timezone.utc), kind=kind,
                          buttons=tuple(buttons), about=tuple(about))


def test_a_turn_passes_when_one_message_is_of_an_accepted_kind_about_an_accepted_record():
    reply = Reply([_message("answer", "【居住证申领】……近期一寸免冠彩色照片", "JC-JZ-001", ["JC-JZ-001"])])
    assert check(Expect(kinds=frozenset({"answer"}), about=frozenset({"JC-JZ-001"}), contains=("一寸",)), reply) == []
    problems = check(Expect(kinds=frozenset({"clarify"}), about=frozenset({"JC-SB-001"}), contains=("两寸",),
                            not_contains=("一寸",)), reply)
    assert [p.split(" ")[0] for p in problems] == ["kind", "about", "missing", "says"]
    assert check(Expect(kinds=frozenset({"answer"})), Reply([])) == ["no reply"]


def test_options_must_all_be_offered_and_button_titles_count_as_said():
    reply = Reply([_message("clarify", "您是想办理下面哪一项？", about=["A", "B"], buttons=[("住房公积金提取（租房）", "/x")])])
    assert check(Expect(kinds=frozenset({"clarify"}), options=frozenset({"A", "B"}), contains=("租房",)), reply) == []
    assert check(Expect(kinds=frozenset({"clarify"}), options=frozenset({"A", "C"})), reply) == ["options ['C'] not offered"]


def test_a_malformed_turn_is_refused_with_where_it_is(tmp_path):
    path = tmp_path / "demo.jsonl"
    path.write_text('{"id": "x-1", "turns": [{"say": "你好", "tap": 1, "expect": {"kind": ["other"]}}]}\n',
                    encoding="utf-8")
    with pytest.raises(ValueError, match="x-1 turn 1"):
        load_dialogues(path)
    path.write_text('{"id": "x-2", "turns": [{"say": "你好", "expect": {"kind": ["nonsense"]}}]}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="kind must be"):
        load_dialogues(path)


@pytest.mark.parametrize("base", sorted(BASES))
def test_each_base_has_thirty_conversations_mostly_typed_about_records_it_has(base):
    spec = BASES[base]
    if not spec.available():
        pytest.skip(f"the {base} base's source data is not on this machine")
    dialogues = load_dialogues(DIALOGUES_DIR / f"{base}.jsonl")
    codes = {r.code for r in spec.records()}
    turns = [step for d in dialogues for step in d.steps]
    assert len(dialogues) >= 30 and all(3 <= len(d.steps) <= 7 for d in dialogues)
    assert sum(step.say is not None for step in turns) >= len(turns) / 2
    named = {code for step in turns for code in step.expect.about | step.expect.options}
    assert named <= codes, sorted(named - codes)
