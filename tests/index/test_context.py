from index.context import ContextRules
from index.decision import PooledScores

KINDS = {"item-card": ("item", "社会保障卡挂失补换"), "cross-card": ("cross_province", "社会保障卡挂失补换"),
         "bundle-birth": ("bundle", "新生儿出生一件事"), "item-birth": ("item", "新生儿出生登记")}
TWINS = {"item-card": "cross-card"}


def _pooled(dense: dict) -> PooledScores:
    return PooledScores(dense=dense, sparse={c: 1.0 for c in dense}, matched={c: c for c in dense})


def test_local_question_keeps_the_local_item_of_a_twin_pair():
    pooled = ContextRules().apply("社保卡丢了怎么办", _pooled({"item-card": 0.93, "cross-card": 0.93}), KINDS, TWINS)
    assert set(pooled.dense) == {"item-card"} and set(pooled.sparse) == {"item-card"}


def test_question_from_elsewhere_keeps_the_cross_province_entry():
    for text in ("在外地社保卡丢了怎么补", "我在广东上班社保卡丢了", "回老家办社保卡补换"):
        pooled = ContextRules().apply(text, _pooled({"item-card": 0.93, "cross-card": 0.92}), KINDS, TWINS)
        assert set(pooled.dense) == {"cross-card"}, text


def test_whole_life_event_question_prefers_a_close_bundle():
    rules = ContextRules()
    close = rules.apply("孩子刚出生要办哪些", _pooled({"item-birth": 0.94, "bundle-birth": 0.93}), KINDS, TWINS)
    assert set(close.dense) == {"bundle-birth"}
    far = rules.apply("孩子刚出生要办哪些", _pooled({"item-birth": 0.95, "bundle-birth": 0.85}), KINDS, TWINS)
    assert set(far.dense) == {"item-birth", "bundle-birth"}


def test_unrelated_records_are_untouched():
    pooled = _pooled({"item-birth": 0.9})
    assert ContextRules().apply("出生登记要带什么", pooled, KINDS, TWINS) is pooled
