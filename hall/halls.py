"""Service halls: where they are, when they open, and the appointment slots they offer.

A hall's week is a table of one-hour slots per weekday (0 = Monday … 6 = Sunday;
a weekday that is missing is closed). The national holiday calendar is data,
not code: ``closed_dates`` lists the statutory holidays and ``extra_workdays``
the weekend days worked instead (调休), each mapped to the weekday whose hours
apply. Both change every year, so they live in the halls file an administrator
keeps current, never in a library that guesses them.

In JSON a slot is written as its label, ``"09:00-10:00"``, and a hall reads and
writes back the same shape, which is also how it is stored in ``hall_halls``.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import date, time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_serializer, model_validator

from hall.dates import PartOfDay, parse_clock
from hall.errors import HallDataError

logger = logging.getLogger(__name__)

NOON = time(12, 0)
_LABEL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class TimeSlot(BaseModel):
    """A bookable period, ``[start, end)``."""

    model_config = ConfigDict(frozen=True)

    start: time
    end: time

    @model_validator(mode="before")
    @classmethod
    def _from_label(cls, value: Any) -> Any:
        if isinstance(value, str):
            match = _LABEL.match(value)
            if match is None:
                raise ValueError(f"a slot is written like '09:00-10:00', got {value!r}")
            h1, m1, h2, m2 = (int(part) for part in match.groups())
            return {"start": time(h1, m1), "end": time(h2, m2)}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> TimeSlot:
        if self.start >= self.end:
            raise ValueError(f"slot {self.label} ends before it starts")
        return self

    @model_serializer
    def _as_label(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def part_of_day(self) -> PartOfDay:
        return "morning" if self.start < NOON else "afternoon"

    def contains(self, moment: time) -> bool:
        return self.start <= moment < self.end

    @classmethod
    def parse(cls, label: str) -> TimeSlot:
        return cls.model_validate(label)


class Hall(BaseModel):
    """One service hall (政务服务中心) and its appointment calendar."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    district: str = Field(min_length=1, max_length=64)
    address: str = Field(min_length=1, max_length=400)
    phone: str = Field(min_length=1, max_length=40)
    capacity_per_slot: int = Field(gt=0, le=1000)
    weekly: dict[int, tuple[TimeSlot, ...]]
    closed_dates: frozenset[date] = frozenset()
    extra_workdays: dict[date, int] = Field(default_factory=dict)
    booking_horizon_days: int = Field(default=14, gt=0, le=366)
    # None: every item may be booked here; a set: only these item codes
    items: frozenset[str] | None = None

    @field_validator("weekly")
    @classmethod
    def _week(cls, weekly: dict[int, tuple[TimeSlot, ...]]) -> dict[int, tuple[TimeSlot, ...]]:
        problems = []
        for weekday, slots in weekly.items():
            if not 0 <= weekday <= 6:
                problems.append(f"weekday {weekday} is not 0 (Monday) … 6 (Sunday)")
            ordered = sorted(slots, key=lambda slot: slot.start)
            problems.extend(
                f"weekday {weekday}: slots {before.label} and {after.label} overlap"
                for before, after in zip(ordered, ordered[1:])
                if after.start < before.end
            )
        if problems:
            raise ValueError("; ".join(problems))
        return {weekday: tuple(sorted(slots, key=lambda s: s.start)) for weekday, slots in sorted(weekly.items())}

    @field_validator("extra_workdays")
    @classmethod
    def _workdays(cls, workdays: dict[date, int]) -> dict[date, int]:
        for day, weekday in workdays.items():
            if not 0 <= weekday <= 6:
                raise ValueError(f"{day}: weekday {weekday} is not 0 (Monday) … 6 (Sunday)")
        return workdays

    @model_validator(mode="after")
    def _calendar_consistent(self) -> Hall:
        both = sorted(self.closed_dates & self.extra_workdays.keys())
        if both:
            raise ValueError(f"dates both closed and extra workdays: {', '.join(map(str, both))}")
        return self

    def slots_on(self, day: date, part: PartOfDay | None = None) -> list[TimeSlot]:
        """The slots offered on ``day`` (optionally only its morning or afternoon); empty when closed."""
        if day in self.closed_dates:
            return []
        slots = self.weekly.get(self.extra_workdays.get(day, day.weekday()), ())
        return [slot for slot in slots if part is None or slot.part_of_day == part]

    def is_open(self, day: date) -> bool:
        return bool(self.slots_on(day))

    def find_slot(self, day: date, text: str) -> TimeSlot | None:
        """The slot a citizen means: its label ("09:00-10:00") or a time inside it ("九点半", "下午2点").

        "上午"/"下午" alone name several slots; use ``slots_on(day, part)`` for those.
        """
        slots = self.slots_on(day)
        if _LABEL.match(text or ""):
            try:
                wanted = TimeSlot.parse(text).label
            except ValidationError:
                return None
            return next((slot for slot in slots if slot.label == wanted), None)
        moment = parse_clock(text)
        if moment is None:
            return None
        return next((slot for slot in slots if slot.contains(moment)), None)

    def offers(self, item_code: str) -> bool:
        return self.items is None or item_code in self.items

    def to_json(self) -> dict[str, Any]:
        """The JSON the hall was (or could have been) loaded from."""
        data = self.model_dump(mode="json")
        data["weekly"] = {str(weekday): slots for weekday, slots in data["weekly"].items()}
        data["closed_dates"] = sorted(data["closed_dates"])  # sets serialise in no particular order
        data["extra_workdays"] = dict(sorted(data["extra_workdays"].items()))
        if data["items"] is not None:
            data["items"] = sorted(data["items"])
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Hall:
        return cls.model_validate(data)


def _field_path(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location) or "(hall)"


def parse_halls(data: Any, source: str) -> list[Hall]:
    """Validate a halls document (``{"halls": [...]}`` or a bare list); every problem is reported at once."""
    entries = data.get("halls") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise HallDataError(f"{source}: expected a list of halls (or an object with a 'halls' list)")
    halls: list[Hall] = []
    problems: list[str] = []
    for index, entry in enumerate(entries):
        label = f"hall #{index}" + (f" ({entry.get('code')})" if isinstance(entry, dict) and entry.get("code") else "")
        try:
            halls.append(Hall.model_validate(entry))
        except ValidationError as exc:
            problems.extend(f"{source}: {label}: {_field_path(e['loc'])}: {e['msg']}" for e in exc.errors())
    codes = [hall.code for hall in halls]
    problems.extend(f"{source}: hall code {code!r} appears twice" for code in sorted({c for c in codes if codes.count(c) > 1}))
    if problems:
        raise HallDataError("\n".join(problems))
    return halls


def load_halls(path: Path | str) -> list[Hall]:
    """Read and validate a halls JSON file; a bad file raises ``HallDataError`` naming file, hall and field."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise HallDataError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise HallDataError(f"{path}: not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    halls = parse_halls(data, str(path))
    logger.info("read %d hall(s) from %s", len(halls), path)
    return halls
