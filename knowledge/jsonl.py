"""The interchange format: JSON Lines, one record a line (see docs/knowledge-format.md).

Reading validates every line before anything is written, and reports every bad
line with file, row and field, so an editor fixes a file in one pass.

Two limits keep a hostile file from costing more than a refusal: a file over
``MAX_FILE_BYTES`` is not read, and a line nested deeper than ``MAX_DEPTH``
(arrays and objects) is refused before ``json.loads`` sees it. The json module
parses recursively, so a line of 100,000 ``[`` ended the import with a
RecursionError; the depth is measured here by a flat scan of the raw line.
Records need 6 levels; 20 leaves room and stays far from the recursion limit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from knowledge.errors import ImportProblem, ImportRefused
from knowledge.schema import Record
from knowledge.store import record_from_json, record_to_json

EXPORT_FILES = {"item": "items.jsonl", "bundle": "bundles.jsonl", "cross_province": "cross_province.jsonl"}

MAX_DEPTH = 20
MAX_FILE_BYTES = 64 * 1024 * 1024  # the shipped base is under 1 MB

# a JSON string, escapes included: brackets inside one are text, not nesting
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKETS = re.compile(r"[\[\]{}]")
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}:,]')


def read_jsonl(paths: Iterable[Path], *, max_depth: int = MAX_DEPTH,
               max_file_bytes: int = MAX_FILE_BYTES) -> list[Record]:
    """Every record of every file, or ``ImportRefused`` listing every problem (file, row, field)."""
    records: list[Record] = []
    problems: list[ImportProblem] = []
    first_seen: dict[str, str] = {}
    for path in paths:
        text = _read_text(Path(path), max_file_bytes, problems)
        if text is None:
            continue
        for row, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            record = _parse_line(str(path), row, line, problems, max_depth)
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


def _read_text(path: Path, max_file_bytes: int, problems: list[ImportProblem]) -> str | None:
    """The file's text, or None with the reason among ``problems`` (unreadable, or over the size limit)."""
    try:
        size = path.stat().st_size
        if size > max_file_bytes:
            problems.append(ImportProblem(str(path), 0, "-", f"the file has {size} bytes; a JSON Lines file "
                                                             f"may have at most {max_file_bytes}"))
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(ImportProblem(str(path), 0, "-", f"cannot read file: {exc}"))
        return None


def nesting_depth(line: str, *, stop_above: int | None = None) -> int:
    """How deep arrays and objects nest in one JSON text (a flat object is 1), without parsing it.

    Strings are cut out first, then the brackets counted: no recursion, and
    regular expressions do the per-character work. Counting stops once the
    depth passes ``stop_above``. Exact for valid JSON; on broken JSON it may
    count too deep, never too shallow, so what ``json.loads`` would recurse
    into is always measured first.
    """
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRING.sub("", line)):
        depth += 1 if bracket in "[{" else -1
        if depth > deepest:
            deepest = depth
            if stop_above is not None and deepest > stop_above:
                break
    return deepest


def too_deep_at(line: str, max_depth: int) -> str | None:
    """The field path (``materials.0.notes``) at which ``line`` nests deeper than ``max_depth``, else None.

    The path is what an editor searches the line for; "-" when the line itself is too deep at its top.
    """
    if nesting_depth(line, stop_above=max_depth) <= max_depth:
        return None
    kinds: list[str] = []  # per open container, "{" or "["
    places: list[str | int] = []  # per open container, the key or index being read in it
    last_string = ""
    for match in _TOKENS.finditer(line):
        token = match.group()
        if token in ("{", "["):
            if len(kinds) == max_depth:
                return ".".join(str(place) for place in places) or "-"
            kinds.append(token)
            places.append("" if token == "{" else 0)
        elif token in ("}", "]"):
            if kinds:
                kinds.pop()
                places.pop()
        elif token == ",":
            if kinds and kinds[-1] == "[":
                places[-1] = int(places[-1]) + 1
        elif token == ":":
            if kinds:
                places[-1] = last_string
        else:
            last_string = _key_text(token)
    return "-"  # counted too deep on a broken line: refused all the same


def _key_text(token: str) -> str:
    try:
        return str(json.loads(token))
    except ValueError:
        return token[1:-1]


def _parse_line(file: str, row: int, line: str, problems: list[ImportProblem], max_depth: int) -> Record | None:
    deep_at = too_deep_at(line, max_depth)
    if deep_at is not None:
        problems.append(ImportProblem(file, row, deep_at, f"nested deeper than {max_depth} levels of "
                                                          "arrays and objects; a record needs far fewer"))
        return None
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        problems.append(ImportProblem(file, row, "-", f"not valid JSON: {exc.msg} at column {exc.colno}"))
        return None
    except RecursionError:  # the scan above keeps lines this deep out; this only keeps the import alive
        problems.append(ImportProblem(file, row, "-", "nested too deeply to read"))
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
