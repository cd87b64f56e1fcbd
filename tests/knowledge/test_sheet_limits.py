"""Workbooks over a limit are refused where they cross it, before they cost the importer its memory.

The hostile files are built by hand: a few parts of XML in a zip, as small as
the 1.5 KB .xlsx that declared a cell at XFD1048576 and took 3.85 GB to refuse.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from knowledge.errors import ImportRefused, ImportTooLarge
from knowledge.sheets.guide import GUIDE_COLUMNS
from knowledge.sheets.limits import MAX_ROWS, SheetLimits, column_letter
from knowledge.sheets.table import read_workbook_rows
from knowledge.spreadsheet import read_materials_workbook, read_records

REPO = Path(__file__).resolve().parents[2]
REAL = REPO.parent / "shared" / "data" / "jilin-changchun"
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="the real Changchun exports are not present")

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'),
    "_rels/.rels": (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_RELS}">'
        f'<Relationship Id="rId1" Type="{_DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    "xl/workbook.xml": (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_MAIN}" xmlns:r="{_DOC_RELS}">'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_RELS}">'
        f'<Relationship Id="rId1" Type="{_DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
}


def _cell(reference: str, text: str) -> str:
    return f'<c r="{reference}" t="inlineStr"><is><t>{text}</t></is></c>'


def write_sheet(path: Path, rows: dict[int, list[tuple[str, str]]], *, dimension: str = "A1") -> Path:
    """An .xlsx of the minimum parts, its one sheet declaring ``dimension`` and holding ``rows``:
    row number to (cell reference, text) pairs."""
    data = "".join(f'<row r="{number}">{"".join(_cell(ref, text) for ref, text in cells)}</row>'
                   for number, cells in sorted(rows.items()))
    sheet = (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_MAIN}">'
             f'<dimension ref="{dimension}"/><sheetData>{data}</sheetData></worksheet>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in PARTS.items():
            archive.writestr(name, text)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return path


def header_cells() -> list[tuple[str, str]]:
    return [(f"{column_letter(n)}1", name) for n, name in enumerate(GUIDE_COLUMNS, start=1)]


# --- the hostile file of the report ----------------------------------------------------------------------------------

HOSTILE_CHILD = """
import json, resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # a regression fails here, not on the machine
from knowledge.errors import ImportTooLarge
from knowledge.sheets.table import read_workbook_rows
try:
    read_workbook_rows(Path(sys.argv[1]))
    outcome = {"refused": None}
except ImportTooLarge as refused:
    outcome = {"refused": [[p.file, p.row, p.field, p.message] for p in refused.problems]}
# this process's own peak: ru_maxrss would carry the forking parent's (pytest's) over the exec
outcome["max_rss_kb"] = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines()
                             if line.startswith("VmHWM:"))
print(json.dumps(outcome))
"""


def test_a_sheet_declaring_xfd1048576_is_refused_in_little_memory(tmp_path):
    """Loaded whole, this 1.5 KB file took 3.85 GB; streamed, it is refused at the row limit.

    Run in a child process whose address space is capped at 1 GiB: the peak is its own, and a
    reader that allocated by the declared size would die there instead of on a shared machine.
    """
    hostile = write_sheet(tmp_path / "hostile.xlsx", {1: header_cells(), 1048576: [("XFD1048576", "x")]},
                          dimension="A1:XFD1048576")
    assert hostile.stat().st_size < 2048
    child = subprocess.run([sys.executable, "-c", HOSTILE_CHILD, str(hostile)], cwd=REPO, capture_output=True,
                           text=True, timeout=300)
    assert child.returncode == 0, child.stderr[-2000:]
    outcome = json.loads(child.stdout)
    assert outcome["refused"] == [[str(hostile), MAX_ROWS + 1, "-", outcome["refused"][0][3]]]
    assert f"more than {MAX_ROWS} rows" in outcome["refused"][0][3]
    assert outcome["max_rss_kb"] < 256 * 1024  # about 50 MB: the interpreter and openpyxl


def test_a_value_past_the_column_limit_is_refused_naming_row_and_column(tmp_path):
    wide = write_sheet(tmp_path / "wide.xlsx", {1: header_cells(), 2: [("A2", "长春市"), ("XFD2", "x")]},
                       dimension="A1:XFD2")
    with pytest.raises(ImportTooLarge) as refused:
        read_workbook_rows(wide)
    [problem] = refused.value.problems
    assert (problem.file, problem.row, problem.field) == (str(wide), 2, "XFD")
    assert "past the 64 columns" in problem.message


def test_a_wrong_dimension_neither_pads_nor_cuts_the_rows(tmp_path):
    """Exporters sometimes record a dimension smaller than the data; every cell is read all the same."""
    rows = {1: [("A1", "事项名称"), ("B1", "情形简称")], 2: [("A2", "甲"), ("B2", "乙")], 4: [("C4", "丙")]}
    path = write_sheet(tmp_path / "small.xlsx", rows, dimension="A1:A1")
    assert read_workbook_rows(path) == [("事项名称", "情形简称"), ("甲", "乙"), (), (None, None, "丙")]
    padded = write_sheet(tmp_path / "big.xlsx", rows, dimension="A1:XFD1000")
    assert read_workbook_rows(padded) == read_workbook_rows(path)


# --- the other limits, each with the file and where -------------------------------------------------------------------

def _guide_xlsx(path: Path, data_rows: int) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(GUIDE_COLUMNS))
    for number in range(data_rows):
        sheet.append([f"区{number}"] + [""] * (len(GUIDE_COLUMNS) - 1))
    workbook.save(path)
    return path


def test_rows_past_the_limit_are_refused_at_the_first_one(tmp_path):
    path = _guide_xlsx(tmp_path / "long.xlsx", data_rows=12)
    assert len(read_workbook_rows(path, SheetLimits(max_rows=13))) == 13
    with pytest.raises(ImportTooLarge) as refused:
        read_workbook_rows(path, SheetLimits(max_rows=10))
    assert [(p.row, p.field) for p in refused.value.problems] == [(11, "-")]


def test_a_file_over_the_size_limit_is_not_opened(tmp_path):
    path = _guide_xlsx(tmp_path / "guide.xlsx", data_rows=2)
    with pytest.raises(ImportTooLarge, match=r"guide.xlsx: row 0: -: the file has \d+ bytes; a workbook may have"):
        read_workbook_rows(path, SheetLimits(max_file_bytes=100))


def test_a_workbook_unpacking_past_the_limit_is_refused_before_it_is_parsed(tmp_path):
    path = write_sheet(tmp_path / "bomb.xlsx", {1: header_cells(), 2: [("A2", "长" * 200_000)]})
    assert path.stat().st_size < 20_000  # 600 KB of text packs small
    with pytest.raises(ImportTooLarge, match="unpacks to .* bytes; at most 100000 are read"):
        read_workbook_rows(path, SheetLimits(max_unpacked_bytes=100_000))


def test_a_part_unpacking_to_more_than_it_declares_is_refused(tmp_path):
    """zipfile trusts the declared size and openpyxl reads whole parts: a lie would let a bomb through."""
    path = write_sheet(tmp_path / "liar.xlsx", {1: header_cells(), 2: [("A2", "长" * 200_000)]})
    _declare_size(path, "xl/worksheets/sheet1.xml", 1_000)
    with pytest.raises(ImportTooLarge, match="part xl/worksheets/sheet1.xml unpacks to more than the 1000 bytes"):
        read_workbook_rows(path)


def _declare_size(path: Path, part: str, size: int) -> None:
    """Rewrite the uncompressed size the zip records for ``part`` (local header and central directory)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(part)
    name = part.encode()
    local = info.header_offset
    assert data[local:local + 4] == b"PK\x03\x04"
    struct.pack_into("<I", data, local + 22, size)
    central = _central_entry(data, name)
    struct.pack_into("<I", data, central + 24, size)
    path.write_bytes(bytes(data))


def _central_entry(data: bytearray, name: bytes) -> int:
    start = 0
    while True:
        start = data.index(b"PK\x01\x02", start)
        name_length = struct.unpack_from("<H", data, start + 28)[0]
        if data[start + 46:start + 46 + name_length] == name:
            return start
        start += 4


def test_the_dispatcher_reports_a_file_over_a_limit_with_the_others(tmp_path):
    long = _guide_xlsx(tmp_path / "long.xlsx", data_rows=12)
    csv = tmp_path / "list.csv"
    csv.write_text("x\n", encoding="utf-8")
    with pytest.raises(ImportRefused) as refused:
        read_records([long, csv], limits=SheetLimits(max_rows=5))
    assert {(p.file, p.row) for p in refused.value.problems} == {(str(long), 6), (str(csv), 0)}


def test_limits_must_be_positive():
    with pytest.raises(ValueError, match="max_rows must be >= 1, got 0"):
        SheetLimits(max_rows=0)


@needs_real
def test_the_xls_reader_is_bounded_too():
    path = REAL / "materials.xls"
    assert len(read_workbook_rows(path)) == 4311  # the real export, header included
    with pytest.raises(ImportTooLarge) as refused:
        read_materials_workbook(path, SheetLimits(max_rows=1000))
    assert [(p.file, p.row) for p in refused.value.problems] == [(str(path), 1001)]
    with pytest.raises(ImportTooLarge, match="the file has 407040 bytes"):
        read_materials_workbook(path, SheetLimits(max_file_bytes=100_000))
    with pytest.raises(ImportTooLarge) as narrow:
        read_workbook_rows(path, SheetLimits(max_columns=3))
    assert (narrow.value.problems[0].row, narrow.value.problems[0].field) == (1, "D")
