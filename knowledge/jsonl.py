"""The interchange format: JSON Lines, one record a line (see docs/knowledge-format.md).

Reading validates every line before anything is written, and reports every bad
line with file, row and field, so an editor fixes a file in one pass.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from knowledge.errors import ImportProblem, ImportRefused
from knowledge.schema import Record
from knowledge.store import record_from_json, record_to_json

EXPORT_FILES = {"item": "items.jsonl", "bundle": "bundles.jsonl", "cross_province": "cross_province.jsonl"}


def read_jsonl(paths: Iterable[Path]) -> list[Record]:
    records: list[Record] = []
    problems: list[ImportProblem] = []
    first_seen: dict[str, str] = {}
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(ImportProblem(str(path), 0, "-", f"cannot read file: {exc}"))
            continue
        for row, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            record = _parse_line(str(path), row, line, problems)
            if record is None:
                continue
            where = f"{path}: row {row}"
            if record.code in first_seen:
                problems.append(ImportProblem(str(path), row, "code", f"{record.code!r} already given at {first_seen[record.code]}"))
                continue
            first_seen[record.code] = where
            records.append(record)
    if problems:
        raise ImportRefused(problems)
    return records


def _parse_line(file: str, row: int, line: str, problems: list[ImportProblem]) -> Record | None:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        problems.append(ImportProblem(file, row, "-", f"not valid JSON: {exc.msg} at column {exc.colno}"))
        return None
    if not isinstance(data, dict):
        problems.append(ImportProblem(file, row, "-", "a line must hold one JSON object"))
        return None
    try:
        return record_from_json(data)
    except ValidationError as exc:
        for error in exc.errors():
            location = [str(part) for part in error["loc"]]
            # the discriminated union puts the record kind first; the editor wants the field path
            if location and location[0] in ("item", "bundle", "cross_province"):
                location = location[1:]
            problems.append(ImportProblem(file, row, ".".join(location) or "kind", error["msg"]))
        return None


def write_jsonl(records: Iterable[Record], directory: Path) -> list[Path]:
    """Write one file per record kind, sorted by code so exports diff cleanly."""
    directory.mkdir(parents=True, exist_ok=True)
    by_kind: dict[str, list[Record]] = {}
    for record in records:
        by_kind.setdefault(record.kind, []).append(record)
    written = []
    for kind, file_name in EXPORT_FILES.items():
        path = directory / file_name
        lines = [
            json.dumps(record_to_json(r), ensure_ascii=False, sort_keys=True)
            for r in sorted(by_kind.get(kind, []), key=lambda r: r.code)
        ]
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        written.append(path)
    return written
