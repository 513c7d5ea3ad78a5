"""Contact details in message text (SPEC 13): phone numbers and e-mail addresses found and
replaced before a message is stored.

Phone numbers are found by Google's libphonenumber rules (the ``phonenumbers`` package's
``PhoneNumberMatcher``), never by a hand-written phone pattern: national formats are read
for one region, international ``+`` formats always, and only numbers that are *valid* for
their region count (``Leniency.VALID``), which keeps order numbers, prices, times, codes
and postcodes as written. E-mail addresses use the WHATWG HTML "valid e-mail address"
pattern, the well-known one browsers apply to ``<input type=email>``.

The matcher costs tens of microseconds a line; a cheap screen runs first, so text with no
run of digits long enough to be a phone number and no ``@`` never reaches it.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher

PHONE_HIDDEN = "[phone number hidden]"
EMAIL_HIDDEN = "[email hidden]"

# The WHATWG HTML standard's valid e-mail address (the pattern <input type=email> uses),
# with the local part anchored on a word boundary so "call me:bob@x.io" masks "bob@x.io".
_EMAIL = re.compile(
    r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+"
)
# A phone number has at least 7 digits; separators between them are at most a few
# characters of space, dot, dash, slash or brackets. Text without such a run is skipped.
_DIGIT_RUN = re.compile(r"\d(?:[\s().\-/]{0,3}\d){6,}")
# Bounds the matcher's work on long, digit-heavy text (libphonenumber's own knob).
_MAX_TRIES = 32


class Masked(NamedTuple):  # a NamedTuple: built on every send, ~3x cheaper than a dataclass
    """Text with its contact details replaced, and how many of each kind were replaced."""

    text: str
    phones: int = 0
    emails: int = 0


class ContactMasker:
    """Replaces phone numbers (for ``region``'s national formats) and e-mail addresses."""

    def __init__(self, region: str = "US") -> None:
        region = region.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown phone region {region!r} (an ISO 3166 code like US, GB, DE)")
        self.region = region

    def mask(self, text: str) -> Masked:
        emails = 0
        if "@" in text:
            text, emails = _EMAIL.subn(EMAIL_HIDDEN, text)
        phones = 0
        if _DIGIT_RUN.search(text):
            text, phones = self._mask_phones(text)
        return Masked(text, phones, emails)

    def _mask_phones(self, text: str) -> tuple[str, int]:
        # A number typed across two lines ("+1 415" / "555 2671") is found as one: line
        # breaks are read as spaces, which keeps every offset where it was.
        flat = text.replace("\r", " ").replace("\n", " ")
        matches = list(PhoneNumberMatcher(flat, self.region, Leniency.VALID, _MAX_TRIES))
        if not matches:
            return text, 0
        parts: list[str] = []
        last = 0
        for match in matches:
            parts.append(text[last : match.start])
            parts.append(PHONE_HIDDEN)
            last = match.end
        parts.append(text[last:])
        return "".join(parts), len(matches)
