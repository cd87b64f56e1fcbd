import numpy as np

from index.engine import RetrievalEngine
from knowledge.schema import Material
from tests.conftest import HASHING_POLICY


def _engine(embedder, store, tmp_path):
    engine = RetrievalEngine(embedder, HASHING_POLICY, jieba_cache=tmp_path / "jieba")
    engine.load(store.published(), store.revision(), store.content_hash())
    return engine


def _scores_by_doc(engine, query):
    scores = engine._sparse.scores(query)
    return {doc.doc_id: float(score) for doc, score in zip(engine.documents, scores)}


def test_an_edit_tokenises_only_its_own_documents_and_scores_as_a_full_build(
    hashing_embedder, seeded_store, records, tmp_path, monkeypatch
):
    live = _engine(hashing_embedder, seeded_store, tmp_path)
    edited = records[2].model_copy(update={"questions": [*records[2].questions, "社保卡被偷了咋补"],
                                           "materials": [Material(name="居民身份证")]})
    seeded_store.import_records([edited], actor="editor")

    tokenised: list[str] = []
    original = type(live._tokenizer).tokens
    monkeypatch.setattr(type(live._tokenizer), "tokens", lambda self, text: tokenised.append(text) or original(self, text))
    live.sync(seeded_store)
    monkeypatch.undo()
    assert sorted(tokenised) == sorted(d.text for d in live.documents if d.code == edited.code)

    rebuilt = _engine(hashing_embedder, seeded_store, tmp_path)
    for query in ("社保卡被偷了", "居住证要带什么", "身份证丢了"):
        live_scores, full_scores = _scores_by_doc(live, query), _scores_by_doc(rebuilt, query)
        assert live_scores.keys() == full_scores.keys()
        assert np.allclose([live_scores[k] for k in full_scores], list(full_scores.values()), atol=1e-5), query
