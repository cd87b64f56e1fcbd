"""Fine-tuning's training data and batches (index.finetune): built like the engine's documents, no false
negatives; and bench.finetune's re-fusion for calibration."""

from __future__ import annotations

import random

from bench.finetune import refuse
from index.decision import DecisionPolicy, PooledScores, fuse
from index.engine import Ranking
from index.finetune import Pair, Recipe, build_pairs, make_batches
from knowledge.schema import CrossProvinceEntry
from tests.conftest import make_item


def test_pairs_are_aliases_and_questions_to_the_records_name(records):
    pairs, ambiguous = build_pairs(records, descriptions=False)
    residence = [p for p in pairs if p.code == "T-JZ-001"]
    assert {p.anchor for p in residence} == {"办居住证", "暂住证", "外地人怎么办居住证", "办居住证要带什么"}
    assert {p.positive for p in residence} == {"居住证申领"}
    assert ambiguous == 0
    assert all(p.anchor != p.positive for p in pairs)


def test_descriptions_teach_whom_a_guide_is_for(records):
    with_descriptions, _ = build_pairs(records)
    anchors = {p.anchor for p in with_descriptions if p.code == "T-JZ-001"}
    residence = next(r for r in records if r.code == "T-JZ-001")
    assert residence.summary.rstrip("。") in anchors  # a sentence at a time
    # every test item has these conditions: as an anchor it would point at three records
    assert residence.conditions not in anchors
    assert all(s.name in " ".join(anchors) for s in residence.situations)
    assert all(len(a) <= 40 for a in anchors)
    assert all(p.positive == "居住证申领" for p in with_descriptions if p.code == "T-JZ-001")


def test_no_batch_makes_a_right_answer_a_negative():
    pairs = [Pair(f"a{n}", f"name{n % 10}", f"C{n % 10}", f"G{n % 10}", f"name{(n + 1) % 10}", f"G{(n + 1) % 10}")
             for n in range(60)]
    for batch in make_batches(pairs, 6, random.Random(3)):
        groups = [p.group for p in batch]
        assert len(set(groups)) == len(groups)
        assert not {p.negative_group for p in batch} & set(groups)


def test_a_recipe_key_changes_with_what_decides_the_weights():
    assert Recipe().key() == Recipe().key()
    assert Recipe(lr=2e-5).key() != Recipe().key()
    assert Recipe(hard_negatives=True).key() != Recipe().key()


def test_a_cross_province_twin_shares_its_items_group_and_shared_phrasings_are_left_out(records):
    twin = CrossProvinceEntry(
        code="T-KS-009", name="居住证跨省办理", item_code="T-JZ-001", aliases=["异地办居住证"],
        questions=["社保卡丢了怎么办"],  # also a question of T-SB-002: its negatives would hold a right answer
        modes=["全程网办"], scope="全国范围", how_to_apply="线上提交。",
    )
    pairs, ambiguous = build_pairs([*records, twin], descriptions=False)
    assert {p.group for p in pairs if p.code == "T-KS-009"} == {"T-JZ-001"}
    assert ambiguous == 2  # the shared question, in both records
    assert "社保卡丢了怎么办" not in {p.anchor for p in pairs}


def test_no_batch_holds_two_pairs_of_one_group_and_every_pair_is_used():
    items = [make_item(f"T-X-{n:03d}", f"事项{n}", aliases=[f"别名{n}-{k}" for k in range(n % 7 + 1)],
                       questions=[f"问题{n}"]) for n in range(40)]
    pairs, _ = build_pairs(items, descriptions=False)
    batches = make_batches(pairs, 8, random.Random(1))
    assert all(len({p.group for p in batch}) == len(batch) for batch in batches)
    used = [p for batch in batches for p in batch]
    assert len(used) == len(set(used)) and len(used) >= len(pairs) - 7  # only lone leftovers are dropped
    assert make_batches(pairs, 8, random.Random(1)) == batches  # seeded


def test_refusing_with_the_shipped_weight_gives_the_same_ranking():
    pooled = PooledScores(dense={"A": 0.91, "B": 0.90, "C": 0.85}, sparse={"D": 6.0, "B": 6.0, "C": 3.0},
                          matched={"A": "a", "B": "b", "C": "c"})
    names = {c: ("item", c) for c in "ABCD"}
    candidates = fuse(pooled, names, DecisionPolicy())
    ranking = Ranking("q", candidates, 1, 0.0)
    assert refuse(ranking, DecisionPolicy().sparse_weight).candidates == candidates  # ties broken alike
    assert [c.code for c in refuse(ranking, 0.0).candidates][:2] == ["A", "B"]
