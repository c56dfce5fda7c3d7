"""The fields Vouch reads, in the order the review page lists them, and how a
value a person types is checked and normalised like a machine value."""

from __future__ import annotations

import re
from collections.abc import Callable

from pipeline.extract.normalize import normalize_amount, normalize_date

FIELD_LABELS = {
    "vendor_name": "Vendor",
    "invoice_number": "Invoice number",
    "invoice_date": "Date",
    "total_amount": "Total",
    "currency": "Currency",
    "vendor_vat_id": "Vendor VAT ID",
    "iban": "IBAN",
    "bic": "BIC",
}
FIELD_NAMES = tuple(FIELD_LABELS)


class InvalidValue(ValueError):
    """`str(error)` says, for the person typing, what the value should look like."""


def _text(value: str) -> str:
    return " ".join(value.split())


def _date(value: str) -> str:
    normalised = normalize_date(value)
    if normalised is None:
        raise InvalidValue("Enter a date, e.g. 2026-03-31 or 31/03/2026.")
    return normalised


def _amount(value: str) -> str:
    normalised = normalize_amount(value)
    if normalised is None:
        raise InvalidValue("Enter an amount, e.g. 1,234.50 or 1.234,50.")
    return normalised


def _currency(value: str) -> str:
    code = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise InvalidValue("Enter a three-letter currency code, e.g. EUR.")
    return code


def _iban(value: str) -> str:
    compact = "".join(value.split()).upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}", compact):
        raise InvalidValue("Enter an IBAN, e.g. DE89 3704 0044 0532 0130 00.")
    return " ".join(compact[start : start + 4] for start in range(0, len(compact), 4))


def _bic(value: str) -> str:
    compact = "".join(value.split()).upper()
    if not re.fullmatch(r"[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?", compact):
        raise InvalidValue("Enter a BIC of 8 or 11 characters, e.g. COBADEFFXXX.")
    return compact


def _vat_id(value: str) -> str:
    compact = "".join(value.split()).upper()
    if not re.fullmatch(r"[A-Z]{2}[A-Z0-9+*]{2,13}", compact):
        raise InvalidValue("Enter a VAT ID with its country prefix, e.g. DE123456789.")
    return compact


NORMALISERS: dict[str, Callable[[str], str]] = {
    "vendor_name": _text,
    "invoice_number": _text,
    "invoice_date": _date,
    "total_amount": _amount,
    "currency": _currency,
    "vendor_vat_id": _vat_id,
    "iban": _iban,
    "bic": _bic,
}


def normalise_human_value(name: str, value: str) -> str:
    """The stored form of what a person typed for field `name`; an empty value
    clears the field. Raises InvalidValue with a message for that person."""
    if not value.strip():
        return ""
    return NORMALISERS[name](value)
