"""How big a workbook may be, checked before and while it is read, never after.

A spreadsheet says how big it is in ways that cost nothing to fake: a 1.5 KB
.xlsx can declare a sheet of A1:XFD1048576, or pack gigabytes of XML into a
few megabytes of zip. Reading such a file whole took 3.85 GB before it was
refused, so every limit here is checked at the point where crossing it would
start to cost:

* the file's size, before it is opened;
* for an .xlsx (a zip): the number of parts and their unpacked size, by
  actually inflating each part in small pieces (the sizes a zip declares may
  lie, and zipfile trusts them), before openpyxl reads any of it;
* rows and columns, row by row as the sheet is streamed, stopping at the first
  row past a limit.

Each refusal is an ``ImportTooLarge`` naming the file, and the row and column
where they mean something. The defaults are far above the provincial exports
(3,058 and 4,311 rows, 12 and 4 columns, 1.4 MB unpacked) and far below what
hurts an importing process.
"""

from __future__ import annotations

import copy
import logging
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from knowledge.errors import ImportProblem, ImportTooLarge

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_UNPACKED_BYTES = 128 * 1024 * 1024
MAX_PARTS = 1_000  # an .xlsx from the exporters has about a dozen
MAX_ROWS = 100_000
MAX_COLUMNS = 64
CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class SheetLimits:
    """The limits one import reads workbooks under (see the module docstring for why each exists)."""

    max_file_bytes: int = MAX_FILE_BYTES
    max_unpacked_bytes: int = MAX_UNPACKED_BYTES
    max_parts: int = MAX_PARTS
    max_rows: int = MAX_ROWS
    max_columns: int = MAX_COLUMNS

    def __post_init__(self) -> None:
        for name in ("max_file_bytes", "max_unpacked_bytes", "max_parts", "max_rows", "max_columns"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


DEFAULT_LIMITS = SheetLimits()


def too_large(file: str, message: str, *, row: int = 0, field: str = "-") -> ImportTooLarge:
    return ImportTooLarge([ImportProblem(file, row, field, message)])


def check_file_size(path: Path, limits: SheetLimits) -> None:
    """Refuse a file over ``max_file_bytes`` before any reader opens it (xlrd reads .xls files whole)."""
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise too_large(str(path), f"the file has {size} bytes; a workbook may have at most {limits.max_file_bytes}")


def check_unpacked_size(path: Path, limits: SheetLimits) -> None:
    """Refuse an .xlsx whose parts are too many, or unpack to more than ``max_unpacked_bytes``.

    The declared sizes are checked first (free), then each part is inflated in
    ``CHUNK_BYTES`` pieces and counted: a part that unpacks to more than it
    declares is a zip bomb aimed at readers that trust the declaration, as
    openpyxl's whole-part reads do.
    """
    file = str(path)
    with zipfile.ZipFile(path) as archive:
        parts = archive.infolist()
        if len(parts) > limits.max_parts:
            raise too_large(file, f"the workbook has {len(parts)} parts; at most {limits.max_parts} are read")
        declared = sum(part.file_size for part in parts)
        if declared > limits.max_unpacked_bytes:
            raise too_large(file, f"the workbook unpacks to {declared} bytes; "
                                  f"at most {limits.max_unpacked_bytes} are read")
        for part in parts:
            if _inflated_size(archive, part) > part.file_size:
                raise too_large(file, f"part {part.filename} unpacks to more than the {part.file_size} bytes "
                                      "it declares (a damaged or hostile file)")


def _inflated_size(archive: zipfile.ZipFile, part: zipfile.ZipInfo) -> int:
    """What ``part`` really unpacks to, counted up to one byte past its declared size (never more)."""
    probe = copy.copy(part)
    probe.file_size = part.file_size + 1  # zipfile stops reading at the declared size: look one byte past it
    del probe.CRC  # this pass only counts; without the checksum zipfile skips its check, the real read keeps it
    seen = 0
    with archive.open(probe) as stream:
        while seen <= part.file_size:
            chunk = stream.read(CHUNK_BYTES)
            if not chunk:
                break
            seen += len(chunk)
    return seen


def bounded_rows(file: str, rows: Iterable[Sequence[object]], limits: SheetLimits) -> list[tuple[object, ...]]:
    """The rows, trailing empty cells dropped, stopping with a refusal at the first row past a limit.

    Streaming readers pad rows to the width a sheet declares, and yield empty
    rows for the gaps before the next row the file has: a sheet declaring
    XFD1048576 costs nothing here until a row or a cell actually crosses a limit.
    """
    out: list[tuple[object, ...]] = []
    for number, raw in enumerate(rows, start=1):
        if number > limits.max_rows:
            raise too_large(file, f"the sheet has more than {limits.max_rows} rows (split it into several files)",
                            row=number)
        cells = _trimmed(raw)
        if len(cells) > limits.max_columns:
            column = column_letter(len(cells))
            raise too_large(file, f"a value in column {column}, past the {limits.max_columns} columns "
                                  "a sheet may have", row=number, field=column)
        out.append(cells)
    return out


def _trimmed(raw: Sequence[object]) -> tuple[object, ...]:
    end = len(raw)
    while end and (raw[end - 1] is None or raw[end - 1] == ""):
        end -= 1
    return tuple(raw[:end])


def column_letter(number: int) -> str:
    """Excel's name for a 1-based column number: 1 is A, 27 is AA, 16384 is XFD."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters
