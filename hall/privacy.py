"""Phone numbers and ID-card numbers: recognise them, and mask them before anything is stored or shown.

Citizens paste their mobile number and, often unasked, their resident ID number
into a chat. Transcripts kept for the hall's staff must not carry either in
full, so every stored message goes through ``mask_text`` first. The full mobile
number is kept in one place only, the booking (the hall must be able to call).

Numbers are only recognised as whole digit runs: the look-arounds keep a mobile
number from being "found" inside an ID number, a bank card or an order number.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-()（）]")
_COUNTRY_PREFIX = re.compile(r"^(?:\+|00)?86(?=1[0-9]{10}$)")
_MAINLAND_MOBILE = re.compile(r"1[3-9][0-9]{9}")

# a mobile number in free text, possibly written "+86 138 1234 5678" or "138-1234-5678"
_MOBILE_IN_TEXT = re.compile(r"(?<![0-9+])(?:(?:\+|00)?86[ -]?)?(1[3-9][0-9](?:[ -]?[0-9]){8})(?![0-9])")
# an 18-character resident ID (17 digits and a digit or X), possibly grouped 6-8-4, or an old 15-digit one
_ID_IN_TEXT = re.compile(
    r"(?<![0-9A-Za-z])(?:[0-9]{6}[ -]?[0-9]{8}[ -]?[0-9]{3}[0-9Xx]|[0-9]{15})(?![0-9A-Za-z])"
)


# Full-width digits (common from Chinese input methods) become ASCII; nothing else in the
# text changes, so a masked transcript keeps the citizen's own punctuation.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９＋Ｘｘ－", "0123456789+Xx-")


def _ascii(text: str) -> str:
    return (text or "").translate(_FULL_WIDTH)


def normalise_phone(text: str) -> str:
    """Digits only, without separators or a leading +86/0086/86: ``"+86 138-1234-5678"`` → ``"13812345678"``.

    The result is not checked; ``is_mainland_mobile`` says whether it is a mobile number.
    """
    compact = _SEPARATORS.sub("", _ascii(text).strip())
    return _COUNTRY_PREFIX.sub("", compact)


def is_mainland_mobile(number: str) -> bool:
    return _MAINLAND_MOBILE.fullmatch(number or "") is not None


def find_mobile(text: str) -> str | None:
    """The first mainland mobile number in free text, normalised; None when there is none."""
    match = _MOBILE_IN_TEXT.search(_ascii(text))
    return normalise_phone(match.group(1)) if match else None


def mask_phone(number: str) -> str:
    """``"13812345678"`` → ``"138****5678"``: enough for a citizen to recognise their own number."""
    digits = normalise_phone(number)
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def _mask_id(match: re.Match[str]) -> str:
    number = re.sub(r"[ -]", "", match.group(0))
    return f"{number[:3]}{'*' * (len(number) - 5)}{number[-2:]}"


def _mask_mobile(match: re.Match[str]) -> str:
    start, end = match.span(1)
    whole = match.group(0)
    prefix = whole[: start - match.start()]
    return f"{prefix}{mask_phone(whole[start - match.start():end - match.start()])}"


def mask_text(text: str) -> str:
    """The text with every ID number (first 3 and last 2 characters kept) and mobile number masked.

    ID numbers go first: they are longer, and a masked ID leaves no digit run a
    mobile number could be read from.
    """
    if not text:
        return text
    masked = _ID_IN_TEXT.sub(_mask_id, _ascii(text))
    return _MOBILE_IN_TEXT.sub(_mask_mobile, masked)


def contains_id_number(text: str) -> bool:
    return _ID_IN_TEXT.search(_ascii(text)) is not None
