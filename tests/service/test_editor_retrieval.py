"""An edit published through the editors' API reaches retrieval, re-embedding only that record."""

from index.documents import documents_for
from index.engine import RetrievalEngine
from tests.conftest import HASHING_POLICY

API = "/api/editor"


def test_published_edit_reaches_the_engine_and_only_that_record_is_reembedded(
    editor_client, app_store, hashing_embedder, tmp_path, alice, bob
):
    engine = RetrievalEngine(hashing_embedder, HASHING_POLICY, jieba_cache=tmp_path / "jieba")
    engine.load(app_store.published(), app_store.revision(), app_store.content_hash())
    untouched = {d.doc_id: v for d, v in zip(engine.documents, engine.vectors, strict=True) if d.code != "T-JZ-001"}

    live = editor_client.get(f"{API}/records/T-JZ-001", headers=alice).json()["published"]
    edited = {**live, "materials": [*live["materials"], {"name": "租房合同", "form": "复印件"}]}
    saved = editor_client.put(f"{API}/records/T-JZ-001/draft", json={"data": edited, "base_version": 1}, headers=alice)
    assert saved.status_code == 200
    assert engine.sync(app_store) is False  # a draft is invisible to retrieval

    published = editor_client.post(f"{API}/records/T-JZ-001/publish", json={"draft_version": 1}, headers=bob)
    assert published.status_code == 200
    hashing_embedder.calls.clear()
    assert engine.sync(app_store) is True

    record = engine.record("T-JZ-001")
    assert record.version == 2 and [m.name for m in record.materials][-1] == "租房合同"
    assert sum(hashing_embedder.calls) == len(documents_for(record))
    after = {d.doc_id: v for d, v in zip(engine.documents, engine.vectors, strict=True) if d.code != "T-JZ-001"}
    assert after.keys() == untouched.keys()
    assert all((after[k] == untouched[k]).all() for k in after)
    assert engine.revision == published.json()["revision"]

    editor_client.post(f"{API}/records/T-JZ-001/unpublish", headers=bob)
    assert engine.sync(app_store) is True and engine.record("T-JZ-001") is None
