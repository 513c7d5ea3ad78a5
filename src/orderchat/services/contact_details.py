"""The contact-details policy on the send path (SPEC 13): with ``mask`` (the default) phone
numbers and e-mail addresses are replaced before the message is stored, and counted once
stored (a retried send is not counted twice); with ``allow`` the text passes as written.
Built once at start from the settings."""

from __future__ import annotations

from orderchat.config import Settings
from orderchat.domain.contact import ContactMasker, Masked
from orderchat.metrics import Metrics


class ContactPolicy:
    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self._masker = (
            ContactMasker(settings.phone_region) if settings.contact_details == "mask" else None
        )
        self._phones = metrics.contact_details_masked_total.labels(kind="phone")
        self._emails = metrics.contact_details_masked_total.labels(kind="email")

    def apply(self, text: str) -> Masked:
        """The text to store in place of ``text``."""
        return Masked(text) if self._masker is None else self._masker.mask(text)

    def stored(self, masked: Masked) -> None:
        """Count what was masked in a message that was stored (not a duplicate)."""
        if masked.phones:
            self._phones.inc(masked.phones)
        if masked.emails:
            self._emails.inc(masked.emails)
