"""When a person can answer: a hand-over's promised reply time falls within the halls' opening hours.

Staff answer hand-over tickets while the halls are open. A ticket opened at 21:00
promised "within 30 minutes" is a promise nobody keeps; it is due 30 minutes into
the next opening instead, and the citizen is told which day. Opening hours are the
union of every hall's slots on that day (its week and its 调休 days), so a hall
open on Saturday morning makes Saturday morning office time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta

from hall.halls import Hall

LOOKAHEAD_DAYS = 30  # a calendar with no opening within a month is a configuration error, not a promise to make


def reply_due(now: datetime, reply_within: timedelta, halls: Sequence[Hall]) -> datetime:
    """``reply_within`` of office time after ``now`` (aware, in the hall's zone): office time left today is
    spent first, the rest from the next opening on. Without halls, plain ``now + reply_within``."""
    left = reply_within
    moment = now
    for _ in range(LOOKAHEAD_DAYS + 1):
        for start, end in _open_spans(halls, moment):
            if end <= moment:
                continue
            begin = max(start, moment)
            if begin + left <= end:
                return begin + left
            left -= end - begin
        moment = datetime.combine(moment.date() + timedelta(days=1), time(0), tzinfo=now.tzinfo)
    return now + reply_within


def _open_spans(halls: Sequence[Hall], moment: datetime) -> list[tuple[datetime, datetime]]:
    """The day's opening hours as merged (start, end) spans, in order."""
    day = moment.date()
    slots = sorted((s.start, s.end) for hall in halls for s in hall.slots_on(day))
    spans: list[tuple[time, time]] = []
    for start, end in slots:
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return [(datetime.combine(day, a, tzinfo=moment.tzinfo), datetime.combine(day, b, tzinfo=moment.tzinfo))
            for a, b in spans]
