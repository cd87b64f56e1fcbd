"""The editors' workflow on the store, on SQLite and PostgreSQL (see tests/knowledge/conftest.py)."""

import pytest

from knowledge.editing import Editing
from knowledge.errors import DraftInvalid, DraftNotFound, RecordNotFound, VersionConflict, VersionNotFound
from knowledge.store import record_to_json
from tests.conftest import make_item


@pytest.fixture
def editing(seeded_store):
    return Editing(seeded_store)


def _with_material(data: dict, name: str) -> dict:
    return {**data, "materials": [*data["materials"], {"name": name}]}


def test_a_new_record_is_a_draft_until_published(editing, seeded_store):
    data = record_to_json(make_item("T-NEW-001", "新生儿落户"))
    before = seeded_store.revision()
    draft = editing.save_draft("T-NEW-001", data, base_version=0, actor="alice")
    assert (draft.version, draft.base_version) == (1, 0)
    assert "version" not in draft.data and "updated_at" not in draft.data
    assert "T-NEW-001" not in {r.code for r in seeded_store.published()}
    assert seeded_store.revision() == before and seeded_store.changes_since(before).upserted == []
    assert editing.view("T-NEW-001").status == "draft"

    result = editing.publish("T-NEW-001", "bob", expected_draft_version=1)
    assert (result.version, result.revision) == (1, before + 1)
    assert seeded_store.get("T-NEW-001").version == 1
    assert [r.code for r in seeded_store.changes_since(before).upserted] == ["T-NEW-001"]
    assert editing.view("T-NEW-001").draft is None


def test_editing_a_published_record_bumps_its_version(editing, seeded_store):
    live = record_to_json(seeded_store.get("T-JZ-001"))
    editing.save_draft("T-JZ-001", _with_material(live, "租房合同"), base_version=1, actor="alice")
    assert [m.name for m in seeded_store.get("T-JZ-001").materials][-1] != "租房合同"  # not live yet
    second = editing.save_draft("T-JZ-001", _with_material(live, "居住证明"), base_version=1, actor="alice",
                                draft_version=1)
    assert second.version == 2
    editing.publish("T-JZ-001", "bob", expected_draft_version=2)
    record = seeded_store.get("T-JZ-001")
    assert record.version == 2 and record.materials[-1].name == "居住证明"


def test_two_editors_saving_on_the_same_version_the_second_gets_a_conflict(editing, seeded_store):
    live = record_to_json(seeded_store.get("T-JZ-001"))
    editing.save_draft("T-JZ-001", _with_material(live, "甲"), base_version=1, actor="alice")
    with pytest.raises(VersionConflict) as conflict:
        editing.save_draft("T-JZ-001", _with_material(live, "乙"), base_version=1, actor="bob")
    assert "alice" in conflict.value.reason
    # same again one level down: both continue from draft save 1
    editing.save_draft("T-JZ-001", _with_material(live, "丙"), base_version=1, actor="alice", draft_version=1)
    with pytest.raises(VersionConflict):
        editing.save_draft("T-JZ-001", _with_material(live, "丁"), base_version=1, actor="bob", draft_version=1)
    assert editing.view("T-JZ-001").draft.data["materials"][-1]["name"] == "丙"


def test_two_editors_starting_the_same_new_record_the_second_gets_a_conflict(editing):
    data = record_to_json(make_item("T-NEW-002", "测试事项"))
    editing.save_draft("T-NEW-002", data, base_version=0, actor="alice")
    with pytest.raises(VersionConflict):
        editing.save_draft("T-NEW-002", data, base_version=0, actor="bob")


def test_a_draft_on_a_version_that_moved_is_refused_on_save_and_on_publish(editing, seeded_store, records):
    live = record_to_json(seeded_store.get("T-SB-002"))
    editing.save_draft("T-SB-002", {**live, "summary": "草稿"}, base_version=1, actor="alice")
    seeded_store.import_records([records[2].model_copy(update={"summary": "导入的新摘要"})], actor="import")
    with pytest.raises(VersionConflict):
        editing.save_draft("T-SB-002", {**live, "summary": "草稿二"}, base_version=1, actor="alice", draft_version=1)
    with pytest.raises(VersionConflict):
        editing.publish("T-SB-002", "bob", expected_draft_version=1)
    assert seeded_store.get("T-SB-002").summary == "导入的新摘要"
    # rebasing on the new version is allowed when the editor names the draft save they edited
    rebased = editing.save_draft("T-SB-002", {**live, "summary": "合并后"}, base_version=2, actor="alice",
                                 draft_version=1)
    assert rebased.base_version == 2
    assert editing.publish("T-SB-002", "bob", expected_draft_version=2).version == 3


def test_publish_of_a_draft_save_the_reviewer_did_not_see_is_refused(editing, seeded_store):
    live = record_to_json(seeded_store.get("T-JZ-001"))
    editing.save_draft("T-JZ-001", live, base_version=1, actor="alice")
    editing.save_draft("T-JZ-001", {**live, "summary": "改"}, base_version=1, actor="alice", draft_version=1)
    with pytest.raises(VersionConflict):
        editing.publish("T-JZ-001", "bob", expected_draft_version=1)
    with pytest.raises(DraftNotFound):
        editing.publish("T-SFZ-003", "bob", expected_draft_version=1)


def test_validate_reports_schema_and_reference_problems_with_paths(editing, seeded_store):
    bad = record_to_json(seeded_store.get("T-JZ-001"))
    bad["materials"][1]["copies"] = -1
    bad["promised_limit_days"] = 30
    editing.save_draft("T-JZ-001", bad, base_version=1, actor="alice")
    problems = editing.validate_draft("T-JZ-001")
    assert "materials[1].copies" in {p.field for p in problems}
    with pytest.raises(DraftInvalid) as refused:
        editing.publish("T-JZ-001", "bob", expected_draft_version=1)
    assert refused.value.problems == problems
    assert seeded_store.get("T-JZ-001").version == 1

    bundle = record_to_json(seeded_store.get("T-BD-001"))
    bundle["item_codes"] = ["T-JZ-001", "T-NOPE-1", "T-BD-001"]
    editing.save_draft("T-BD-001", bundle, base_version=1, actor="alice")
    assert {(p.field, "bundle" in p.message) for p in editing.validate_draft("T-BD-001")} == {
        ("item_codes[1]", False), ("item_codes[2]", True),
    }

    cross = record_to_json(seeded_store.get("T-KS-001"))
    editing.save_draft("T-KS-001", {**cross, "item_code": "T-SB-002"}, base_version=1, actor="alice")
    assert editing.validate_draft("T-KS-001") == []
    seeded_store_item_gone = editing.unpublish("T-SB-002", "alice")
    assert seeded_store_item_gone.version == 1
    assert [p.field for p in editing.validate_draft("T-KS-001")] == ["item_code"]


def test_drafts_that_cannot_be_stored_at_all_are_refused(editing, seeded_store):
    live = record_to_json(seeded_store.get("T-JZ-001"))
    with pytest.raises(DraftInvalid, match="code"):
        editing.save_draft("T-JZ-001", {**live, "code": "T-OTHER"}, base_version=1, actor="alice")
    with pytest.raises(DraftInvalid, match="kind"):
        editing.save_draft("T-JZ-001", {**live, "kind": "bundle"}, base_version=1, actor="alice")
    with pytest.raises(DraftInvalid, match="kind"):
        editing.save_draft("T-X", {"name": "无类型"}, base_version=0, actor="alice")


def test_unpublish_hides_the_record_from_retrieval(editing, seeded_store):
    before = seeded_store.revision()
    result = editing.unpublish("T-SFZ-003", "alice")
    assert result.revision == before + 1
    changes = seeded_store.changes_since(before)
    assert changes.removed == ["T-SFZ-003"] and changes.upserted == []
    with pytest.raises(RecordNotFound):
        seeded_store.get("T-SFZ-003")
    with pytest.raises(RecordNotFound):
        editing.unpublish("T-SFZ-003", "alice")
    assert editing.view("T-SFZ-003").status == "unpublished"


def test_history_diff_and_rollback(editing, seeded_store):
    live = record_to_json(seeded_store.get("T-JZ-001"))
    edited = {**live, "promised_limit_days": 5}
    edited["materials"] = [{"name": "户口簿", "form": "复印件"}, *live["materials"]]
    edited["materials"][2]["copies"] = 1  # the photo, now third
    editing.save_draft("T-JZ-001", edited, base_version=1, actor="alice")
    editing.publish("T-JZ-001", "bob", expected_draft_version=1)

    changes = {(c.op, c.path): (c.old, c.new) for c in editing.diff("T-JZ-001", 1, 2)}
    assert changes[("changed", "promised_limit_days")] == (7, 5)
    assert changes[("changed", "materials[2].copies")] == (2, 1)
    assert ("added", "materials[0]") in changes
    assert len(changes) == 3  # matched by name: the shifted materials are not "changed"

    result = editing.rollback("T-JZ-001", 1, "carol")
    assert result.version == 3
    assert editing.diff("T-JZ-001", 1, 3) == []
    assert record_to_json(seeded_store.get("T-JZ-001"))["promised_limit_days"] == 7
    history = editing.history("T-JZ-001")
    assert [(h.version, h.status, h.actor) for h in history] == [
        (1, "superseded", "test"), (2, "superseded", "bob"), (3, "published", "carol"),
    ]
    with pytest.raises(VersionNotFound):
        editing.diff("T-JZ-001", 1, 9)
    with pytest.raises(VersionNotFound):
        editing.rollback("T-JZ-001", 9, "carol")
    with pytest.raises(RecordNotFound):
        editing.history("T-NOPE")


def test_rollback_republishes_an_unpublished_record(editing, seeded_store):
    before = seeded_store.revision()
    editing.unpublish("T-SFZ-003", "alice")
    editing.rollback("T-SFZ-003", 1, "alice")
    assert seeded_store.get("T-SFZ-003").version == 2
    assert [r.code for r in seeded_store.changes_since(before).upserted] == ["T-SFZ-003"]


def test_draft_diff_shows_what_publishing_would_change(editing, seeded_store):
    live = record_to_json(seeded_store.get("T-SB-002"))
    editing.save_draft("T-SB-002", {**live, "aliases": ["社保卡丢了", "社保卡补办"]}, base_version=1, actor="a")
    assert [(c.op, c.path, c.old, c.new) for c in editing.diff_draft("T-SB-002")] == [
        ("removed", "aliases[1]", "补办社保卡", None), ("added", "aliases[1]", None, "社保卡补办"),
    ]


def test_every_write_is_audited(editing, seeded_store):
    live = record_to_json(seeded_store.get("T-SB-002"))
    editing.save_draft("T-SB-002", {**live, "summary": "新"}, base_version=1, actor="alice")
    editing.publish("T-SB-002", "bob", expected_draft_version=1)
    editing.unpublish("T-SB-002", "carol")
    editing.rollback("T-SB-002", 2, "dave")
    entries = editing.audit(code="T-SB-002")
    assert [(e.action, e.actor, e.version) for e in entries] == [
        ("rollback", "dave", 3), ("unpublish", "carol", 2), ("publish", "bob", 2),
        ("draft", "alice", 1), ("import", "test", 1),
    ]
    assert all(e.at.tzinfo is not None for e in entries)
    assert [e.action for e in editing.audit(actor="bob")] == ["publish"]
    with pytest.raises(ValueError):
        editing.audit(limit=0)


def test_a_refused_write_leaves_no_audit_row_and_no_revision(editing, seeded_store):
    before, entries = seeded_store.revision(), len(editing.audit())
    with pytest.raises(DraftNotFound):
        editing.publish("T-JZ-001", "bob", expected_draft_version=1)
    with pytest.raises(VersionConflict):
        editing.save_draft("T-JZ-001", {"kind": "item"}, base_version=7, actor="bob")
    assert seeded_store.revision() == before and len(editing.audit()) == entries


def test_list_finds_records_and_new_drafts(editing):
    editing.save_draft("T-NEW-003", record_to_json(make_item("T-NEW-003", "居住证签注")), base_version=0, actor="a")
    found, total = editing.list_records(query="居住证")
    assert [(s.code, s.status, s.version, s.draft_version) for s in found] == [
        ("T-JZ-001", "published", 1, None), ("T-NEW-003", "draft", 0, 1),
    ]
    assert total == 2
    assert {s.code for s in editing.list_records(kind="bundle")[0]} == {"T-BD-001"}
    assert editing.list_records(status="draft")[1] == 1
    assert editing.list_records(query="T_JZ")[1] == 0  # '_' is a character here, not a LIKE wildcard
    assert [s.code for s in editing.list_records(query="t-jz")[0]] == ["T-JZ-001"]
    page, total = editing.list_records(limit=2, offset=2)
    assert len(page) == 2 and total == 6
    with pytest.raises(RecordNotFound):
        editing.view("T-NOPE")
