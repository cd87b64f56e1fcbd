from dataclasses import replace

from index.engine import RetrievalEngine
from tests.conftest import HASHING_POLICY


def test_one_ranking_can_be_decided_under_several_policies(hashing_embedder, seeded_store, tmp_path):
    engine = RetrievalEngine(hashing_embedder, HASHING_POLICY, jieba_cache=tmp_path / "jieba")
    engine.load(seeded_store.published(), seeded_store.revision(), seeded_store.content_hash())
    ranking = engine.rank("社保卡丢了想补一张")
    assert ranking.candidates[0].code == "T-SB-002"
    assert engine.decide(ranking) == engine.decide(ranking, HASHING_POLICY)
    strict = replace(HASHING_POLICY, reject_below=0.99999)
    assert engine.decide(ranking, strict) == ("reject", [])
    assert engine.search("社保卡丢了想补一张").decision == engine.decide(ranking)[0]

