import pytest

from index.decision import DecisionPolicy, PooledScores, decide, fuse

NAMES = {"a": ("item", "居住证申领"), "b": ("item", "居住证签注"), "c": ("item", "结婚登记")}


def _decide(dense, sparse):
    policy = DecisionPolicy()
    candidates = fuse(PooledScores(dense=dense, sparse=sparse), NAMES, policy)
    return decide(candidates, policy)


def test_clear_leader_is_answered():
    decision, shown = _decide({"a": 0.95, "b": 0.91, "c": 0.86}, {"a": 9.0, "b": 3.0})
    assert decision == "answer" and [c.code for c in shown] == ["a"]


def test_neck_and_neck_becomes_a_question():
    decision, shown = _decide({"a": 0.935, "b": 0.930, "c": 0.86}, {"a": 7.3, "b": 7.1})
    assert decision == "suggest"
    assert {c.code for c in shown} == {"a", "b"}


def test_low_similarity_without_shared_words_is_rejected():
    decision, shown = _decide({"a": 0.87, "b": 0.86, "c": 0.86}, {})
    assert decision == "reject" and shown == []


def test_nothing_indexed_is_rejected():
    assert _decide({}, {}) == ("reject", [])


@pytest.mark.parametrize("field, value", [("rrf_k", 0), ("reject_below", 1.5), ("max_suggestions", 1)])
def test_policy_refuses_bad_values_naming_them(field, value):
    with pytest.raises(ValueError, match=field):
        DecisionPolicy(**{field: value})
