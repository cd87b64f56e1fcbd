"""The knowledge package's errors, one tree, so callers catch ``KnowledgeError`` at their boundary.

KnowledgeError
├── ImportRefused        a file could not be imported; ``problems`` say file, row and field
│   └── ImportTooLarge   a workbook over a limit (bytes, unpacked bytes, rows, columns),
│                        refused where the limit was crossed, before it was read whole
├── RecordNotFound       no (published) record with that code          (HTTP 404)
│   ├── DraftNotFound    the record has no pending draft                (HTTP 404)
│   └── VersionNotFound  the record never had that version              (HTTP 404)
├── VersionConflict      a save based on a stale version, never a silent overwrite (HTTP 409)
└── DraftInvalid         a draft breaks the schema or refers to what is not published;
                         ``problems`` give field paths like ``materials[2].name`` (HTTP 422)
"""

from __future__ import annotations

from dataclasses import dataclass


class KnowledgeError(Exception):
    """Base of every error raised by ``knowledge``."""


@dataclass(frozen=True)
class ImportProblem:
    file: str
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: row {self.row}: {self.field}: {self.message}"


class ImportRefused(KnowledgeError):
    """Nothing was imported: every problem found is listed, not only the first."""

    def __init__(self, problems: list[ImportProblem]):
        self.problems = problems
        shown = "\n".join(str(p) for p in problems[:20])
        more = f"\n… and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"import refused, {len(problems)} problem(s):\n{shown}{more}")


class ImportTooLarge(ImportRefused):
    """A file over one of the reader's limits: reading stopped there, so memory and time stay bounded.

    A hostile or broken file (a sheet claiming a cell at XFD1048576, a zip
    bomb) must cost a refusal, not the importing process. (A JSON Lines line
    nested too deep is one problem among the file's others, in a plain
    ``ImportRefused``: the lines after it are still checked.)
    """


class RecordNotFound(KnowledgeError):
    def __init__(self, code: str):
        self.code = code
        super().__init__(f"no record with code {code!r}")


class DraftNotFound(RecordNotFound):
    def __init__(self, code: str):
        super().__init__(code)
        self.args = (f"record {code!r} has no draft",)


class VersionNotFound(RecordNotFound):
    def __init__(self, code: str, version: int):
        super().__init__(code)
        self.version = version
        self.args = (f"record {code!r} has no version {version}",)


class VersionConflict(KnowledgeError):
    """``expected`` is what the caller based its write on, ``actual`` what the base holds now."""

    def __init__(self, code: str, expected: int | None, actual: int | None, reason: str = ""):
        self.code, self.expected, self.actual = code, expected, actual
        self.reason = reason or f"record {code!r} is at version {actual}, the edit was based on version {expected}"
        super().__init__(self.reason)


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field or '(record)'}: {self.message}"


class DraftInvalid(KnowledgeError):
    def __init__(self, code: str, problems: list[FieldProblem]):
        self.code, self.problems = code, problems
        shown = "; ".join(str(p) for p in problems[:10])
        super().__init__(f"record {code!r} cannot be published: {shown}")
