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


def _order(dense, sparse, **policy):
    return [c.code for c in fuse(PooledScores(dense=dense, sparse=sparse), NAMES, DecisionPolicy(**policy))]


def test_fusion_keeps_a_clear_dense_lead_over_a_small_bm25_edge():
    # rank fusion sees only "first vs second" on each side and would put b first
    dense, sparse = {"a": 0.95, "b": 0.80, "c": 0.70}, {"b": 10.0, "c": 9.95, "a": 9.9}
    assert _order(dense, sparse)[0] == "a"
    assert _order(dense, sparse, fusion="rrf")[0] == "b"


def test_fusion_lets_bm25_break_a_near_tie_of_cosines():
    assert _order({"a": 0.900, "b": 0.899, "c": 0.80}, {"b": 10.0, "a": 2.0})[:2] == ["b", "a"]


def test_record_found_only_by_bm25_scores_from_the_last_cosine_fetched():
    candidates = fuse(PooledScores(dense={"a": 0.90, "b": 0.85}, sparse={"c": 8.0}), NAMES, DecisionPolicy())
    c = next(c for c in candidates if c.code == "c")
    assert c.score == pytest.approx(0.85 + 0.025) and c.dense == 0.0


@pytest.mark.parametrize("field, value", [("fusion", "max"), ("sparse_weight", -0.1)])
def test_policy_refuses_bad_fusion_settings(field, value):
    with pytest.raises(ValueError, match=field):
        DecisionPolicy(**{field: value})


def test_a_second_close_phrasing_lifts_a_record_over_one_lucky_match():
    # "a" has one phrasing a hair closer; "b" has two phrasings almost as close
    pooled = PooledScores(dense={"a": 0.700, "b": 0.690, "c": 0.50}, support={"a": 0.40, "b": 0.68})
    assert [c.code for c in fuse(pooled, NAMES, DecisionPolicy())][:2] == ["a", "b"]
    lifted = fuse(pooled, NAMES, DecisionPolicy(support_weight=0.3))
    assert [c.code for c in lifted][:2] == ["b", "a"]
    assert lifted[0].support == 0.68 and lifted[0].dense == 0.690  # thresholds still see the best cosine


def test_support_weight_must_be_a_fraction():
    with pytest.raises(ValueError, match="support_weight"):
        DecisionPolicy(support_weight=1.5)


def test_a_record_first_on_both_sides_is_kept_down_to_the_agreed_floor():
    """A base without aliases meets questions only through its official wording: a cosine under reject_below
    with BM25 agreeing is evidence enough, down to agreed_floor; either side alone is not."""
    policy = DecisionPolicy(reject_below=0.58, lexical_floor=0.64, agreed_floor=0.52)
    agreed = fuse(PooledScores(dense={"a": 0.55, "b": 0.45}, sparse={"a": 9.0, "b": 2.0}), NAMES, policy)
    assert decide(agreed, policy)[0] == "answer"
    dense_only = fuse(PooledScores(dense={"a": 0.55, "b": 0.45}, sparse={"b": 9.0}), NAMES, policy)
    assert decide(dense_only, policy)[0] == "reject"
    too_low = fuse(PooledScores(dense={"a": 0.50, "b": 0.45}, sparse={"a": 9.0}), NAMES, policy)
    assert decide(too_low, policy)[0] == "reject"
    unset = DecisionPolicy(reject_below=0.58, lexical_floor=0.64)
    assert decide(fuse(PooledScores(dense={"a": 0.55}, sparse={"a": 9.0}), NAMES, unset), unset)[0] == "reject"


def test_a_record_just_under_the_floor_that_bm25_also_finds_is_offered_not_refused():
    """The doubt zone: a story dilutes the right guide's cosine; with BM25 finding it too, the bot asks."""
    policy = DecisionPolicy(reject_below=0.58, lexical_floor=0.64, doubt_below=0.50, doubt_sparse_rank=2,
                            doubt_shown=2)
    # first on the dense side, second on BM25: refused without the zone, offered with the next record inside it
    story = PooledScores(dense={"a": 0.56, "b": 0.52, "c": 0.40}, sparse={"b": 9.0, "a": 7.0})
    decision, shown = decide(fuse(story, NAMES, policy), policy)
    assert decision == "suggest" and [c.code for c in shown] == ["a", "b"]
    without = DecisionPolicy(reject_below=0.58, lexical_floor=0.64)
    assert decide(fuse(story, NAMES, without), without) == ("reject", [])
    # below the zone, or with BM25 not finding the first record high enough, it is still refused
    faint = PooledScores(dense={"a": 0.48, "b": 0.45}, sparse={"a": 9.0})
    assert decide(fuse(faint, NAMES, policy), policy) == ("reject", [])
    unsupported = PooledScores(dense={"a": 0.56, "b": 0.52, "c": 0.50}, sparse={"b": 9.0, "c": 8.0, "a": 1.0})
    assert decide(fuse(unsupported, NAMES, policy), policy) == ("reject", [])


def test_the_doubt_zone_lies_under_the_refusal_floor():
    with pytest.raises(ValueError, match="doubt_below"):
        DecisionPolicy(reject_below=0.58, doubt_below=0.6)
