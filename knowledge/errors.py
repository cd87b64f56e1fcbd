"""The knowledge package's errors, one tree, so callers catch ``KnowledgeError`` at their boundary.

KnowledgeError
├── ImportRefused        a file could not be imported; ``problems`` say file, row and field
├── RecordNotFound       no record with that code
└── VersionConflict      a save based on a stale version (the HTTP layer answers 409)
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


class RecordNotFound(KnowledgeError):
    def __init__(self, code: str):
        self.code = code
        super().__init__(f"no record with code {code!r}")


class VersionConflict(KnowledgeError):
    def __init__(self, code: str, expected: int, actual: int):
        self.code, self.expected, self.actual = code, expected, actual
        super().__init__(f"record {code!r} is at version {actual}, the edit was based on version {expected}")
