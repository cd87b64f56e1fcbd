import json
from pathlib import Path

import pytest

from knowledge.errors import ImportRefused
from knowledge.jsonl import MAX_DEPTH, nesting_depth, read_jsonl, too_deep_at, write_jsonl
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


# ---- limits: a hostile line or file costs a refusal, never the import ------------------------------------------------

def test_a_record_nested_100000_deep_is_refused_naming_file_row_and_field(tmp_path, records):
    good = record_to_json(records[0])
    deep = '{"code": "T-DEEP", "materials": [{"notes": ' + "[" * 100_000 + "]" * 100_000 + "}]}"
    path = _write(tmp_path / "deep.jsonl", [good, deep, "[" * 100_000, "{not json"])

    with pytest.raises(ImportRefused) as refused:  # not RecursionError
        read_jsonl([path])

    problems = {p.row: p for p in refused.value.problems}
    assert set(problems) == {2, 3, 4}
    assert problems[2].file == str(path)
    assert problems[2].field == "materials.0.notes" + ".0" * 17  # where the 21st level opens
    assert f"nested deeper than {MAX_DEPTH} levels" in problems[2].message
    assert problems[3].field == ".".join(["0"] * MAX_DEPTH) and "nested deeper" in problems[3].message
    assert "not valid JSON" in problems[4].message  # the lines after still get their own report


def test_nesting_is_measured_outside_strings_only():
    assert nesting_depth('{"a": "[[[{{{", "b": [1, {"c": "\\"]]"}]}') == 3
    assert nesting_depth("[]") == 1 and nesting_depth('"text"') == 0
    assert nesting_depth("[" * 50, stop_above=20) == 21  # stops counting once past the limit
    at_limit = '{"a": ' * 19 + "[]" + "}" * 19
    assert nesting_depth(at_limit) == 20 and too_deep_at(at_limit, 20) is None
    assert too_deep_at('{"a": ' * 20 + "[]" + "}" * 20, 20) == ".".join(["a"] * 20)
    assert too_deep_at('{"k\\u00e9y": [1, 2, ' + "[" * 30 + "]" * 30 + "]}", 20) == "kéy.2" + ".0" * 18


def test_a_line_at_the_depth_limit_is_read_as_any_other(tmp_path, records):
    row = record_to_json(records[0])
    path = _write(tmp_path / "ok.jsonl", [row])
    depth = nesting_depth(path.read_text(encoding="utf-8"))
    assert 3 < depth <= MAX_DEPTH
    assert [r.code for r in read_jsonl([path], max_depth=depth)] == [row["code"]]
    with pytest.raises(ImportRefused) as refused:
        read_jsonl([path], max_depth=depth - 1)
    [problem] = refused.value.problems
    assert problem.row == 1 and problem.field.count(".") == depth - 2  # the path to the deepest level


def test_a_file_over_the_size_limit_is_not_read(tmp_path, records):
    path = _write(tmp_path / "big.jsonl", [record_to_json(records[0])])
    with pytest.raises(ImportRefused) as refused:
        read_jsonl([path], max_file_bytes=10)
    [problem] = refused.value.problems
    assert (problem.file, problem.row, problem.field) == (str(path), 0, "-")
    assert "may have at most 10" in problem.message
