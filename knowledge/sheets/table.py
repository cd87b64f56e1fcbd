"""From a workbook file to numbered rows of text, with the header checked.

Reading the file is kept apart from grouping the rows, so the grouping can be
tested with plain tuples and both Excel generations (.xlsx through openpyxl,
the old .xls through xlrd) feed the same code. Row numbers are the ones an
editor sees in Excel: 1-based, the header is row 1, blank rows still count.

Both readers stream under ``knowledge.sheets.limits``: a file, a sheet or a
row over a limit is refused where the limit is crossed, never after loading it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from knowledge.errors import ImportProblem, ImportRefused
from knowledge.sheets.limits import DEFAULT_LIMITS, SheetLimits, bounded_rows, check_file_size, check_unpacked_size

logger = logging.getLogger(__name__)

RawRow = Sequence[object]


@dataclass(frozen=True)
class SheetRow:
    """One data row: its spreadsheet row number and its cells by column name, stripped text."""

    number: int
    cells: dict[str, str]

    def __getitem__(self, column: str) -> str:
        return self.cells[column]


def cell_text(value: object) -> str:
    """Excel hands back numbers as floats (a time limit of 5 reads 5.0); editors typed "5"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def short_hash(*parts: str, length: int = 10) -> str:
    """A code part that depends only on the names it is made from, so re-imports update, not duplicate."""
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:length]


def table_rows(file: str, rows: Iterable[RawRow], columns: Sequence[str]) -> list[SheetRow]:
    """Check the header (row 1) against ``columns`` and return the non-blank data rows.

    Every missing and every unknown column is reported at once; without the right
    columns no row can be read, so a bad header refuses the file before any row is looked at.
    """
    iterator: Iterator[RawRow] = iter(rows)
    header_row = next(iterator, None)
    if header_row is None:
        raise ImportRefused([ImportProblem(file, 1, "-", "the sheet is empty: no header row")])
    header = [cell_text(v) for v in header_row]
    problems: list[ImportProblem] = []
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        if not name:
            continue
        if name not in columns:
            problems.append(ImportProblem(file, 1, name, f"unknown column; expected only {'、'.join(columns)}"))
        elif name in positions:
            problems.append(ImportProblem(file, 1, name, "column given twice"))
        else:
            positions[name] = index
    for name in columns:
        if name not in positions:
            problems.append(ImportProblem(file, 1, name, "required column is missing (renamed or deleted?)"))
    if problems:
        raise ImportRefused(problems)

    out: list[SheetRow] = []
    for number, raw in enumerate(iterator, start=2):
        cells = {name: cell_text(raw[index]) if index < len(raw) else "" for name, index in positions.items()}
        if any(cells.values()):
            out.append(SheetRow(number, cells))
    return out


def read_workbook_rows(path: Path, limits: SheetLimits = DEFAULT_LIMITS) -> list[tuple[object, ...]]:
    """All rows of the first sheet, header included, trailing empty cells dropped.

    An unreadable file is one problem, not a traceback; a file over ``limits``
    is an ``ImportTooLarge`` naming where it crossed them.
    """
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".xls"):
        raise ImportRefused([ImportProblem(str(path), 0, "-", f"not a workbook suffix: {path.suffix!r}")])
    try:
        check_file_size(path, limits)
        return _xlsx_rows(path, limits) if suffix == ".xlsx" else _xls_rows(path, limits)
    except ImportRefused:
        raise
    except Exception as exc:  # openpyxl and xlrd raise a zoo of types for a damaged or mislabelled file
        raise ImportRefused([ImportProblem(str(path), 0, "-", f"cannot read workbook: {exc}")]) from exc


def _xlsx_rows(path: Path, limits: SheetLimits) -> list[tuple[object, ...]]:
    import openpyxl

    check_unpacked_size(path, limits)
    # read_only streams the sheet row by row instead of building every cell it declares;
    # data_only: formula results
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        if len(workbook.worksheets) > 1:
            logger.info("%s: reading the first of %d sheets (%s)", path, len(workbook.worksheets), sheet.title)
        # the rows as the file has them: read_only would otherwise trust the <dimension> the exporter
        # recorded, which is sometimes wrong (cutting rows short) and costs nothing to fake (padding every row)
        sheet.reset_dimensions()
        return bounded_rows(str(path), sheet.iter_rows(values_only=True), limits)
    finally:
        workbook.close()


def _xls_rows(path: Path, limits: SheetLimits) -> list[tuple[object, ...]]:
    import xlrd

    # on_demand: only the first sheet is parsed; ragged_rows: rows keep their own length instead of
    # all being padded to the widest (a cell at IV65536 would make 16 million empty cells)
    book = xlrd.open_workbook(str(path), on_demand=True, ragged_rows=True)
    try:
        sheet = book.sheet_by_index(0)
        if book.nsheets > 1:
            logger.info("%s: reading the first of %d sheets (%s)", path, book.nsheets, sheet.name)
        return bounded_rows(str(path), (sheet.row_values(index) for index in range(sheet.nrows)), limits)
    finally:
        book.release_resources()


def build_record(model: type[BaseModel], data: dict, file: str, row: int, problems: list[ImportProblem]):
    """Validate a record built from rows; a failure is reported at the item's first row with the field path."""
    try:
        return model(**data)
    except ValidationError as exc:
        for error in exc.errors():
            location = ".".join(str(part) for part in error["loc"]) or "-"
            problems.append(ImportProblem(file, row, location, error["msg"]))
        return None


def build_items(file: str, drafts: Iterable, *, code_of: Callable[[Any], str], data_of: Callable[[str, Any], dict],
                field: str, problems: list[ImportProblem]) -> list:
    """Validated items from grouped drafts (anything with ``first_row``); a code made
    twice is a hash collision and is refused, never merged into one item."""
    from knowledge.schema import Item

    items = []
    codes: dict[str, Any] = {}
    for draft in drafts:
        code = code_of(draft)
        if code in codes:
            message = f"code {code} also made for row {codes[code].first_row}"
            problems.append(ImportProblem(file, draft.first_row, field, message))
            continue
        codes[code] = draft
        item = build_record(Item, data_of(code, draft), file, draft.first_row, problems)
        if item is not None:
            items.append(item)
    return items
