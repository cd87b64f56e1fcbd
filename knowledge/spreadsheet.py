"""Import from the provincial spreadsheet exports, next to the JSON Lines interchange format.

Editors get the item lists of their province as Excel exports, not as JSON Lines;
this module lets ``daoban kb import`` take them as they come:

* ``.xlsx`` — the guide workbook (区划名称 … 材料名称, one row per material and
  district), see ``knowledge.sheets.guide``;
* ``.xls`` — the materials workbook (事项名称, 省级主管部门, 情形简称, 关联材料名称),
  see ``knowledge.sheets.materials``;
* ``.jsonl`` — the interchange format, see ``knowledge.jsonl``.

Like ``read_jsonl``, every reader checks everything before returning and reports
every problem with file, spreadsheet row (header = row 1) and column; a file with
any problem yields nothing, and ``read_records`` refuses the whole set when any
file has a problem, so an import never lands half.

Workbooks are streamed under ``SheetLimits`` (file size, unpacked size, rows,
columns; see ``knowledge.sheets.limits``), JSON Lines under ``read_jsonl``'s
size and nesting limits: a hostile file is refused where it crosses a limit,
before it costs the importing process its memory.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from knowledge.errors import ImportProblem, ImportRefused
from knowledge.jsonl import read_jsonl
from knowledge.schema import Item, Record
from knowledge.sheets.guide import guide_items_from_rows
from knowledge.sheets.limits import DEFAULT_LIMITS, SheetLimits
from knowledge.sheets.materials import material_items_from_rows
from knowledge.sheets.table import read_workbook_rows

logger = logging.getLogger(__name__)

SUFFIXES = (".jsonl", ".xlsx", ".xls")


def read_guide_workbook(path: Path | str, limits: SheetLimits = DEFAULT_LIMITS) -> list[Item]:
    """Items of a guide workbook (.xlsx): one per handling item, with situations and district variants."""
    path = Path(path)
    return guide_items_from_rows(read_workbook_rows(path, limits), file=str(path)).items


def read_materials_workbook(path: Path | str, limits: SheetLimits = DEFAULT_LIMITS) -> list[Item]:
    """Items of a materials workbook (.xls): situations and materials, no districts."""
    path = Path(path)
    return material_items_from_rows(read_workbook_rows(path, limits), file=str(path)).items


def read_records(paths: Iterable[Path | str], *, limits: SheetLimits = DEFAULT_LIMITS) -> list[Record]:
    """Read every file by its suffix; all problems of all files are collected, then the set is refused.

    A code given by two files is refused too: the store would keep only the
    last, and which file wins would depend on the order on the command line.
    ``limits`` bound the workbooks (the JSON Lines files keep ``read_jsonl``'s defaults).
    """
    paths = [Path(p) for p in paths]
    problems: list[ImportProblem] = []
    batches: list[tuple[str, list[Record]]] = []
    jsonl = [p for p in paths if p.suffix.lower() == ".jsonl"]
    if jsonl:  # one call, so read_jsonl's own row-precise duplicate check spans these files
        _collect(problems, batches, ", ".join(map(str, jsonl)), lambda: read_jsonl(jsonl))
    for path in paths:
        suffix = path.suffix.lower()
        if suffix == ".xlsx":
            _collect(problems, batches, str(path), lambda: read_guide_workbook(path, limits))
        elif suffix == ".xls":
            _collect(problems, batches, str(path), lambda: read_materials_workbook(path, limits))
        elif suffix != ".jsonl":
            problems.append(ImportProblem(
                str(path), 0, "-", f"unsupported file type {path.suffix!r}; expected one of {', '.join(SUFFIXES)}",
            ))

    records: list[Record] = []
    given_by: dict[str, str] = {}
    for source, batch in batches:
        for record in batch:
            if record.code in given_by:
                message = f"{record.code!r} already given by {given_by[record.code]}"
                problems.append(ImportProblem(source, 0, "code", message))
                continue
            given_by[record.code] = source
            records.append(record)
    if problems:
        raise ImportRefused(problems)
    logger.info("read %d record(s) from %d file(s)", len(records), len(paths))
    return records


def _collect(problems: list[ImportProblem], batches: list, source: str, read) -> None:
    try:
        batches.append((source, read()))
    except ImportRefused as refused:
        problems.extend(refused.problems)
