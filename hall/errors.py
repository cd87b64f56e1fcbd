"""The hall package's errors, one tree, so callers catch ``HallError`` at their boundary.

HallError
├── HallDataError            a halls file is malformed; the message names file, hall index and field
├── HallNotFound             no hall with that code
├── BookingRefused           a booking request breaks a rule; ``reason`` is a stable code,
│                            ``message`` a polite sentence the bot can show the citizen as is
├── BookingNotFound          reference and phone do not match a booking (the same error whether
│                            the reference exists or not, so references cannot be probed)
├── BookingLocked            too many failed look-ups of this reference: refused for a while even
│                            with the right phone; says until when and which hall to call
├── BookingAlreadyCancelled  the booking was cancelled before
├── TicketNotFound           no handover ticket with that number
└── TicketStateError         a ticket move its current state does not allow (e.g. reply before take)
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

RefusalReason = Literal[
    "past_date",
    "too_far_ahead",
    "hall_closed",
    "no_such_slot",
    "slot_full",
    "invalid_phone",
    "invalid_name",
    "item_not_offered",
]
REFUSAL_REASONS: frozenset[str] = frozenset(get_args(RefusalReason))


class HallError(Exception):
    """Base of every error raised by ``hall``."""


class HallDataError(HallError, ValueError):
    """A halls file (or a stored hall) does not validate; nothing from it is used."""


class HallNotFound(HallError, LookupError):
    def __init__(self, code: str):
        self.code = code
        super().__init__(f"no hall with code {code!r}")


class BookingRefused(HallError):
    """A rule refused the booking; nothing was written.

    ``reason`` is for code (the bot picks its next question from it), ``message``
    is for the citizen, so the two never have to be kept in step by the caller.
    """

    def __init__(self, reason: RefusalReason, message: str):
        if reason not in REFUSAL_REASONS:
            raise ValueError(f"unknown refusal reason {reason!r}")
        self.reason = reason
        self.message = message
        super().__init__(f"{reason}: {message}")


class BookingNotFound(HallError, LookupError):
    """Deliberately says nothing about which of reference or phone was wrong."""

    def __init__(self) -> None:
        super().__init__("no booking matches this reference and phone number")


class BookingLocked(HallError):
    """Look-ups of ``reference`` by reference and phone failed too often; refused until ``until`` (UTC).

    A known reference names its hall (``hall_name``, ``hall_phone``) so the
    citizen can call it; for an unknown one both are ``None``. Not a
    ``BookingNotFound``: the right phone is refused too, and the reply must say so.
    """

    def __init__(self, reference: str, until: datetime, hall_name: str | None = None, hall_phone: str | None = None):
        self.reference = reference
        self.until = until
        self.hall_name = hall_name
        self.hall_phone = hall_phone
        super().__init__(f"booking reference {reference} is locked until {until.isoformat()}")


class BookingAlreadyCancelled(HallError):
    def __init__(self, reference: str):
        self.reference = reference
        super().__init__(f"booking {reference} was already cancelled")


class TicketNotFound(HallError, LookupError):
    def __init__(self, number: str):
        self.number = number
        super().__init__(f"no ticket numbered {number!r}")


class TicketStateError(HallError):
    """The move is not allowed from the ticket's current state; nothing changed."""

    def __init__(self, number: str, state: str, move: str):
        self.number = number
        self.state = state
        self.move = move
        super().__init__(f"ticket {number} is {state}: cannot {move}")
