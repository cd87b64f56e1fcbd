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


PASSPORT = {"item-hk": ("item", "往来港澳通行证及签注签发"), "cross-hk": ("cross_province", "往来港澳通行证及签注异地申请")}


def test_place_word_the_local_guide_is_about_does_not_mean_elsewhere():
    rules = ContextRules()
    own = {"item-hk": rules.elsewhere_cues("内地居民前往香港、澳门申请往来港澳通行证")}
    pooled = _pooled({"item-hk": 0.93, "cross-hk": 0.92})
    kept = rules.apply("去澳门签注", pooled, PASSPORT, {"item-hk": "cross-hk"}, own)
    assert set(kept.dense) == {"item-hk"}
    # another place word still says where the citizen is
    away = rules.apply("我在广东上班，去澳门签注", pooled, PASSPORT, {"item-hk": "cross-hk"}, own)
    assert set(away.dense) == {"cross-hk"}


def test_asking_for_one_items_materials_is_not_a_whole_life_event():
    rules = ContextRules()
    pooled = _pooled({"item-birth": 0.94, "bundle-birth": 0.93})
    assert not rules.read("出生登记要哪些材料").whole_event
    assert set(rules.apply("出生登记要哪些材料", pooled, KINDS, TWINS).dense) == {"item-birth", "bundle-birth"}
    assert rules.read("孩子刚出生要办哪些").whole_event


def test_asking_to_do_several_things_together_means_the_whole_event():
    rules = ContextRules()
    for question in ("想开间理发店，执照和卫生许可能一起申请吗", "网签、交税、转登记是不是要分开去几个部门",
                     "快退休了，社保公积金要分开跑吗", "结婚生娃的手续能不能一趟办完"):
        assert rules.read(question).whole_event, question
    pooled = _pooled({"item-birth": 0.94, "bundle-birth": 0.93})
    together = "出生登记和医保能一起申请吗"
    assert set(rules.apply(together, pooled, KINDS, TWINS).dense) == {"bundle-birth"}


def test_a_first_application_is_not_the_cue_one_visit():
    rules = ContextRules()
    assert not rules.read("小孩第一次办身份证要带什么").whole_event
    assert rules.read("生娃一次办").whole_event


def test_a_models_bundle_window_decides_how_far_behind_a_bundle_may_be():
    rules = ContextRules()
    pooled = _pooled({"item-birth": 0.70, "bundle-birth": 0.64})
    assert set(rules.apply("孩子刚出生要办哪些", pooled, KINDS, TWINS).dense) == {"item-birth", "bundle-birth"}
    wide = rules.apply("孩子刚出生要办哪些", pooled, KINDS, TWINS, bundle_window=0.1)
    assert set(wide.dense) == {"bundle-birth"}
