"""Field-level differences between two versions of a record, for editors to review.

Lists are matched by identity, not by position, so inserting a material at the
top shows as one added material instead of every later material "changed":

- situations by ``code``, district variants by ``district``, materials by ``name``;
- lists of plain values (aliases, procedure steps, legal basis …) by the value;
- by position only when identities repeat within a version (nothing to match by).

Paths index into the version the value comes from: ``materials[2].copies`` is
the third material of the newer version for ``changed`` and ``added``, of the
older one for ``removed``. When the elements both versions share are in another
order, one ``reordered`` change on the list gives the old and new order. The
bookkeeping fields ``version`` and ``updated_at`` are left out: they always move.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Op = Literal["added", "removed", "changed", "reordered"]

IDENTITY_KEYS = ("code", "district", "name")
IGNORED = frozenset({"version", "updated_at"})


@dataclass(frozen=True)
class Change:
    op: Op
    path: str
    old: Any = None
    new: Any = None


def diff_records(old: dict, new: dict) -> list[Change]:
    changes: list[Change] = []
    _diff_dicts(
        {k: v for k, v in old.items() if k not in IGNORED},
        {k: v for k, v in new.items() if k not in IGNORED},
        "",
        changes,
    )
    return changes


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _diff(old: Any, new: Any, path: str, changes: list[Change]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        _diff_dicts(old, new, path, changes)
    elif isinstance(old, list) and isinstance(new, list):
        _diff_lists(old, new, path, changes)
    elif old != new or type(old) is not type(new):
        changes.append(Change("changed", path, old, new))


def _diff_dicts(old: dict, new: dict, path: str, changes: list[Change]) -> None:
    for key in sorted(old.keys() | new.keys(), key=_key_order(old, new)):
        where = _join(path, key)
        if key not in new:
            changes.append(Change("removed", where, old[key], None))
        elif key not in old:
            changes.append(Change("added", where, None, new[key]))
        else:
            _diff(old[key], new[key], where, changes)


def _key_order(old: dict, new: dict) -> Callable[[str], int]:
    """Fields in the order the record declares them (newer version first), not alphabetically."""
    order = {k: i for i, k in enumerate([*new.keys(), *(k for k in old if k not in new)])}
    return order.__getitem__


def _identity(element: Any) -> Any:
    if isinstance(element, dict):
        for key in IDENTITY_KEYS:
            if isinstance(element.get(key), str):
                return (key, element[key])
        return None
    if isinstance(element, (str, int, float, bool)) or element is None:
        return ("value", element)
    return None


def _identities(items: list) -> list | None:
    ids = [_identity(e) for e in items]
    if any(i is None for i in ids) or len(set(ids)) != len(ids):
        return None
    return ids


def _diff_lists(old: list, new: list, path: str, changes: list[Change]) -> None:
    old_ids, new_ids = _identities(old), _identities(new)
    if old_ids is None or new_ids is None:
        _diff_by_position(old, new, path, changes)
        return
    old_at = {ident: i for i, ident in enumerate(old_ids)}
    new_set = set(new_ids)
    for i, ident in enumerate(old_ids):
        if ident not in new_set:
            changes.append(Change("removed", f"{path}[{i}]", old[i], None))
    for j, ident in enumerate(new_ids):
        if ident not in old_at:
            changes.append(Change("added", f"{path}[{j}]", None, new[j]))
        else:
            _diff(old[old_at[ident]], new[j], f"{path}[{j}]", changes)
    shared_old = [_label(old[i]) for i, ident in enumerate(old_ids) if ident in new_set]
    shared_new = [_label(new[j]) for j, ident in enumerate(new_ids) if ident in old_at]
    if shared_old != shared_new:
        changes.append(Change("reordered", path, shared_old, shared_new))


def _label(element: Any) -> Any:
    identity = _identity(element)
    return identity[1] if identity else element


def _diff_by_position(old: list, new: list, path: str, changes: list[Change]) -> None:
    for i in range(max(len(old), len(new))):
        where = f"{path}[{i}]"
        if i >= len(new):
            changes.append(Change("removed", where, old[i], None))
        elif i >= len(old):
            changes.append(Change("added", where, None, new[i]))
        else:
            _diff(old[i], new[i], where, changes)
