import json
from pathlib import Path

import pytest

from knowledge.errors import ImportRefused
from knowledge.jsonl import read_jsonl, write_jsonl
from knowledge.store import record_to_json


def _write(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows), encoding="utf-8")
    return path


def test_export_then_import_is_lossless(tmp_path, seeded_store, store):
    exported = write_jsonl(seeded_store.published(), tmp_path / "out")
    again = read_jsonl(exported)
    assert [record_to_json(r) for r in sorted(again, key=lambda r: r.code)] == [
        record_to_json(r) for r in seeded_store.published()
    ]


def test_bad_rows_are_refused_with_file_row_and_field(tmp_path, records):
    good = record_to_json(records[0])
    missing_name = {k: v for k, v in record_to_json(records[1]).items() if k != "name"}
    bad_copies = record_to_json(records[2])
    bad_copies["materials"][0]["copies"] = -1
    path = _write(tmp_path / "guides.jsonl", [good, missing_name, "{not json", bad_copies])

    with pytest.raises(ImportRefused) as refused:
        read_jsonl([path])

    problems = {(p.row, p.field) for p in refused.value.problems}
    assert (2, "name") in problems
    assert (3, "-") in problems
    assert (4, "materials.0.copies") in problems
    assert all(p.file == str(path) for p in refused.value.problems)
    assert "guides.jsonl: row 4: materials.0.copies" in str(refused.value)


def test_unknown_field_is_refused_not_dropped(tmp_path, records):
    row = record_to_json(records[0])
    row["materails"] = []
    with pytest.raises(ImportRefused) as refused:
        read_jsonl([_write(tmp_path / "typo.jsonl", [row])])
    assert refused.value.problems[0].field == "materails"


def test_duplicate_codes_across_files_are_refused(tmp_path, records):
    row = record_to_json(records[0])
    first = _write(tmp_path / "a.jsonl", [row])
    second = _write(tmp_path / "b.jsonl", [row])
    with pytest.raises(ImportRefused) as refused:
        read_jsonl([first, second])
    assert refused.value.problems[0].file == str(second)
    assert refused.value.problems[0].field == "code"


def test_shipped_demo_base_is_valid():
    from daoban.settings import load_settings
    from daoban.setup_steps import seed_files

    records = read_jsonl(seed_files(load_settings().seed_dir))
    assert len(records) >= 12
    residence = [r for r in records if r.name == "居住证申领"]
    assert residence and residence[0].has_materials
