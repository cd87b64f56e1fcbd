import pytest

from index.engine import RetrievalEngine
from index.errors import BadQuery, StaleIndex
from index.persist import load_index, save_index
from knowledge.database import make_engine, migrate
from knowledge.schema import Material
from knowledge.store import KnowledgeStore
from tests.conftest import HASHING_POLICY, make_item


@pytest.fixture
def engine(hashing_embedder, seeded_store, tmp_path):
    engine = RetrievalEngine(hashing_embedder, HASHING_POLICY, jieba_cache=tmp_path / "jieba")
    engine.load(seeded_store.published(), seeded_store.revision(), seeded_store.content_hash())
    return engine


def test_documents_are_per_field_not_one_blob(engine):
    docs = [d for d in engine.documents if d.code == "T-JZ-001"]
    assert {d.field for d in docs} >= {"name", "alias", "question", "summary", "situation"}
    assert all(len(d.text) < 200 for d in docs)


def test_search_finds_by_alias(engine):
    result = engine.search("社保卡丢了怎么办")
    assert result.candidates[0].code == "T-SB-002"


def test_a_slip_is_searched_as_the_base_s_word_and_reported(engine):
    result = engine.search("社宝卡坏了怎么办")
    assert result.query == "社保卡坏了怎么办"
    assert result.corrections == (("社宝卡", "社保卡"),)
    assert result.candidates[0].code == "T-SB-002"


def test_an_edit_teaches_the_rewriter_its_new_terms(engine, seeded_store, records):
    assert engine.search("惠民宝怎么买").corrections == ()
    edited = records[1].model_copy(update={"aliases": [*records[1].aliases, "惠民保"]})
    seeded_store.import_records([edited], actor="editor")
    engine.sync(seeded_store)
    assert engine.search("惠民宝怎么买").corrections == (("惠民宝", "惠民保"),)


def test_bad_arguments_are_refused(engine):
    with pytest.raises(BadQuery, match="top_k"):
        engine.search("居住证", top_k=0)
    with pytest.raises(BadQuery, match="empty"):
        engine.search("   ")


def test_sync_reembeds_only_the_changed_record(engine, seeded_store, hashing_embedder, records):
    edited = records[1].model_copy(update={"aliases": [*records[1].aliases, "身份证遗失"]})
    seeded_store.import_records([edited], actor="editor")
    hashing_embedder.calls.clear()
    assert engine.sync(seeded_store) is True
    assert sum(hashing_embedder.calls) == len([d for d in engine.documents if d.code == "T-SFZ-003"])
    assert engine.record("T-SFZ-003").version == 2
    assert engine.sync(seeded_store) is False


def test_saved_index_loads_and_a_foreign_one_is_refused(engine, seeded_store, hashing_embedder, tmp_path, store):
    folder = tmp_path / "index"
    save_index(engine, folder)
    fresh = RetrievalEngine(hashing_embedder, HASHING_POLICY, jieba_cache=tmp_path / "jieba")
    manifest = load_index(fresh, folder, seeded_store)
    assert manifest["records"] == 5
    assert fresh.search("社保卡丢了").candidates[0].code == "T-SB-002"


def test_index_behind_the_store_catches_up_with_edits(engine, seeded_store, hashing_embedder, tmp_path, records):
    folder = tmp_path / "index"
    save_index(engine, folder)
    edited = records[0].model_copy(update={"materials": [*records[0].materials, Material(name="租房合同")]})
    seeded_store.import_records([edited], actor="editor")
    fresh = RetrievalEngine(hashing_embedder, HASHING_POLICY, jieba_cache=tmp_path / "jieba")
    load_index(fresh, folder, seeded_store)
    assert fresh.record("T-JZ-001").version == 2
    assert fresh.kb_hash == seeded_store.content_hash()


def test_index_of_another_knowledge_base_is_refused(engine, hashing_embedder, tmp_path, records):
    folder = tmp_path / "index"
    save_index(engine, folder)
    other_db = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    migrate(other_db)
    other = KnowledgeStore(other_db)
    other.import_records(records[:2], actor="other")  # another base, at the same revision
    with pytest.raises(StaleIndex, match="daoban index build"):
        load_index(RetrievalEngine(hashing_embedder), folder, other)


def test_index_built_with_another_model_is_refused(engine, seeded_store, tmp_path):
    folder = tmp_path / "index"
    save_index(engine, folder)

    class OtherModel:
        model_id, dim = "other-model", 256

        def encode(self, texts, prompt):  # pragma: no cover - refused before use
            raise AssertionError

    with pytest.raises(StaleIndex, match="model"):
        load_index(RetrievalEngine(OtherModel()), folder, seeded_store)



def test_a_bare_thing_with_several_items_becomes_a_question(hashing_embedder, seeded_store, tmp_path):
    first_card = make_item("T-SB-001", "社会保障卡申领", aliases=["办社保卡"], questions=["第一次办社保卡"],
                           domain="社保", situations=[], summary="首次申领社会保障卡。")
    seeded_store.import_records([first_card], actor="test")
    engine = RetrievalEngine(hashing_embedder, HASHING_POLICY, jieba_cache=tmp_path / "jieba")
    engine.load(seeded_store.published(), seeded_store.revision(), seeded_store.content_hash())
    result = engine.search("社保卡")
    assert result.decision == "suggest"
    assert {c.code for c in result.shown} == {"T-SB-001", "T-SB-002"}


def test_sparse_pooling_keeps_the_best_records_in_document_order(engine, monkeypatch):
    import numpy as np

    import index.engine as engine_module

    codes = [d.code for d in engine.documents]
    scores = np.zeros(len(codes), dtype=np.float32)
    scores[:] = np.linspace(1.0, 2.0, len(codes), dtype=np.float32)  # later documents score higher
    pooled_all: dict[str, float] = {}
    engine._pool_sparse(scores, pooled_all)
    assert list(pooled_all) == list(dict.fromkeys(codes))  # every record, in document order
    assert all(pooled_all[c] == max(float(s) for s, k in zip(scores, codes) if k == c) for c in pooled_all)

    last_three = list(dict.fromkeys(codes))[-3:]
    monkeypatch.setattr(engine_module, "SPARSE_DOCS", sum(c in last_three for c in codes))  # their documents only
    monkeypatch.setattr(engine_module, "SPARSE_RECORDS", 2)
    pooled_top: dict[str, float] = {}
    engine._pool_sparse(scores, pooled_top)
    best_two = sorted(pooled_all, key=lambda c: -pooled_all[c])[:2]
    assert sorted(pooled_top) == sorted(best_two)
    assert all(pooled_top[c] == pooled_all[c] for c in pooled_top)
    assert list(pooled_top) == [c for c in pooled_all if c in pooled_top]


def test_dense_pooling_keeps_each_record_s_best_and_second_best_cosine(engine):
    import numpy as np

    from index.engine import QUERY

    text = "社保卡丢了怎么补"
    vector = engine._embedder.encode([text], QUERY)
    pooled = engine._pooled_scores(text, vector, "dense")
    cosines: dict[str, list[float]] = {}
    for doc, cosine in zip(engine.documents, np.asarray(engine.vectors, dtype=np.float32) @ vector[0]):
        cosines.setdefault(doc.code, []).append(float(cosine))
    assert set(pooled.dense) == set(cosines)  # the test base is smaller than the dense depth
    for code, best in pooled.dense.items():
        ranked = sorted(cosines[code], reverse=True)
        assert best == pytest.approx(ranked[0], abs=1e-3)
        assert pooled.support.get(code) == (pytest.approx(ranked[1], abs=1e-3) if len(ranked) > 1 else None)


def test_load_reports_its_build_phases(engine):
    assert {"tokenizer", "bm25", "dense"} <= set(engine.build_seconds)


def test_a_destination_the_local_guide_names_keeps_the_local_item(hashing_embedder, seeded_store, tmp_path):
    from knowledge.schema import CrossProvinceEntry

    permit = make_item("T-CRJ-002", "往来港澳通行证及签注签发", aliases=["港澳通行证", "港澳签注"],
                       questions=["去香港旅游要办什么证"], domain="出入境", situations=[],
                       summary="内地居民前往香港、澳门申请往来港澳通行证及签注。")
    twin = CrossProvinceEntry(code="T-KS-049", name="往来港澳通行证及签注异地申请", item_code="T-CRJ-002",
                              aliases=["港澳通行证异地办"], questions=["外地人在江川能办港澳通行证吗"],
                              modes=["多地联办"], scope="全国范围", how_to_apply="外省户籍人员可在江川出入境窗口申请。")
    seeded_store.import_records([permit, twin], actor="test")
    engine = RetrievalEngine(hashing_embedder, HASHING_POLICY, jieba_cache=tmp_path / "jieba")
    engine.load(seeded_store.published(), seeded_store.revision(), seeded_store.content_hash())
    codes = [c.code for c in engine.search("去澳门签注").candidates]
    assert "T-CRJ-002" in codes and "T-KS-049" not in codes
    codes = [c.code for c in engine.search("人在外地，港澳签注能办吗").candidates]
    assert "T-KS-049" in codes and "T-CRJ-002" not in codes
