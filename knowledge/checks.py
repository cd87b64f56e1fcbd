"""What stops a draft from being published: schema problems and references to what is not live.

A draft may be saved half-done (an editor's work in progress); these checks run
on validate, publish and roll-back, and report every problem with a field path
(``materials[2].name``) so the editor fixes the draft in one pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError

from knowledge.errors import DraftInvalid, FieldProblem
from knowledge.schema import RECORD_TYPES, Bundle, Code, CrossProvinceEntry, Record
from knowledge.store import record_from_json

# codes → kind of the published record, for the codes that are published
PublishedKinds = Callable[[Sequence[str]], dict[str, str]]

_CODE = TypeAdapter(Code)
_BOOKKEEPING = ("version", "updated_at")  # given on publish, never by the editor


def field_path(location: Iterable[str | int]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def schema_problems(data: dict) -> tuple[Record | None, list[FieldProblem]]:
    """The validated record, or None with every schema problem found."""
    try:
        return record_from_json(data), []
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            location = list(error["loc"])
            # the discriminated union puts the record kind first; the editor wants the field path
            if location and location[0] in RECORD_TYPES:
                location = location[1:]
            problems.append(FieldProblem(field_path(location) or "kind", error["msg"]))
        return None, problems


def reference_problems(record: Record, published_kinds: PublishedKinds) -> list[FieldProblem]:
    """Bundles and cross-province entries may only point at published items."""
    if isinstance(record, Bundle):
        references = [(f"item_codes[{i}]", code) for i, code in enumerate(record.item_codes)]
    elif isinstance(record, CrossProvinceEntry) and record.item_code:
        references = [("item_code", record.item_code)]
    else:
        return []
    kinds = published_kinds([code for _, code in references])
    problems = []
    for path, code in references:
        kind = kinds.get(code)
        if kind is None:
            problems.append(FieldProblem(path, f"no published item with code {code!r}"))
        elif kind != "item":
            problems.append(FieldProblem(path, f"{code!r} is a {kind}, not an item"))
    return problems


def draft_body(code: str, data: Any) -> dict:
    """What a draft must have to be stored at all; the rest is checked on publish."""
    try:
        _CODE.validate_python(code)
    except ValidationError:
        raise DraftInvalid(code, [FieldProblem("code", "letters, digits, '.', '_' and '-', at most 64")]) from None
    if not isinstance(data, dict):
        raise DraftInvalid(code, [FieldProblem("", "a record must be a JSON object")])
    body = {k: v for k, v in data.items() if k not in _BOOKKEEPING}
    if body.setdefault("code", code) != code:
        raise DraftInvalid(code, [FieldProblem("code", f"the draft is for {code!r}, the data says {body['code']!r}")])
    if body.get("kind") not in RECORD_TYPES:
        raise DraftInvalid(code, [FieldProblem("kind", f"must be one of {', '.join(RECORD_TYPES)}")])
    return body


def draft_name(code: str, body: dict) -> str:
    name = body.get("name")
    return name.strip()[:2000] if isinstance(name, str) and name.strip() else code
