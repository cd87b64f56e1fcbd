"""What the editing workflow hands back: plain frozen values, no database rows.

Rows stay inside their session; these are safe to pass to the HTTP layer, to
log and to compare in tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class RecordSummary:
    """A line of the editors' record list; ``status`` is published, unpublished or draft (never published)."""

    code: str
    name: str
    kind: str
    status: str
    version: int
    draft_version: int | None


@dataclass(frozen=True)
class Draft:
    code: str
    version: int
    base_version: int
    data: dict[str, Any]
    actor: str
    updated_at: datetime


@dataclass(frozen=True)
class EditorView:
    """A record as an editor sees it: the live (or withdrawn) content and the pending draft."""

    code: str
    kind: str
    name: str
    status: str
    version: int
    published: dict[str, Any] | None
    draft: Draft | None


@dataclass(frozen=True)
class VersionInfo:
    version: int
    status: str
    actor: str
    created_at: datetime


@dataclass(frozen=True)
class PublishResult:
    code: str
    version: int
    revision: int
