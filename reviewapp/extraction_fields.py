"""The fields Vouch reads, in the order the review page lists them, how a value
a person types is checked and normalised like a machine value, and the
confidence at which a machine value is accepted without review."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Literal

from pipeline.extract.calibration import CalibrationError, load_calibration
from pipeline.extract.normalize import (
    iban_is_valid,
    normalize_amount,
    normalize_bic,
    normalize_date,
    normalize_iban,
    normalize_vat_id,
    vat_id_is_checkable,
    vat_id_is_valid,
)
from pipeline.validate.types import DEFAULT_REQUIRED_FIELDS, INVOICE

FIELD_LABELS = {
    "vendor_name": "Vendor",
    "vendor_address": "Vendor address",
    "vendor_vat_id": "Vendor VAT id",
    "customer_name": "Customer",
    "invoice_number": "Invoice number",
    "invoice_date": "Date",
    "due_date": "Due date",
    "po_number": "PO number",
    "currency": "Currency",
    "subtotal_amount": "Subtotal",
    "tax_amount": "Tax",
    "total_amount": "Total",
    "iban": "IBAN",
    "bic": "BIC",
    "payment_terms": "Payment terms",
}
FIELD_NAMES = tuple(FIELD_LABELS)

# The fields a receipt carries: no customer, due date, PO number or bank
# details, so none is listed or flagged as missing on one. Other types (and a
# document not typed yet) show every field.
RECEIPT_FIELDS = (
    "vendor_name",
    "vendor_address",
    "vendor_vat_id",
    "invoice_number",
    "invoice_date",
    "currency",
    "subtotal_amount",
    "tax_amount",
    "total_amount",
)
FIELDS_BY_DOCUMENT_TYPE = {"receipt": RECEIPT_FIELDS}
# What a field is called on a type of document, where it differs.
LABELS_BY_DOCUMENT_TYPE = {"receipt": {"invoice_number": "Receipt number"}}


def fields_for_type(document_type: str) -> tuple[str, ...]:
    """The fields a document of `document_type` shows, in page order."""
    return FIELDS_BY_DOCUMENT_TYPE.get(document_type, FIELD_NAMES)


def required_fields_for_type(document_type: str) -> tuple[str, ...]:
    """The fields a document of this type cannot do without (the checks'
    required fields); the others may be confirmed "not on this document"."""
    return DEFAULT_REQUIRED_FIELDS.get(document_type, DEFAULT_REQUIRED_FIELDS[INVOICE])


def label_for_type(name: str, document_type: str) -> str:
    return LABELS_BY_DOCUMENT_TYPE.get(document_type, {}).get(name, FIELD_LABELS[name])


FieldKind = Literal["text", "code", "date", "amount"]
# How values of each field compare: text case-insensitively with collapsed
# whitespace (and a fuzzy score), codes exactly, dates and amounts by value.
FIELD_KINDS: dict[str, FieldKind] = {
    "vendor_name": "text",
    "vendor_address": "text",
    "vendor_vat_id": "code",
    "customer_name": "text",
    "invoice_number": "code",
    "invoice_date": "date",
    "due_date": "date",
    "po_number": "code",
    "currency": "code",
    "subtotal_amount": "amount",
    "tax_amount": "amount",
    "total_amount": "amount",
    "iban": "code",
    "bic": "code",
    "payment_terms": "text",
}

DEFAULT_AUTO_ACCEPT = 0.90


def auto_accept_thresholds() -> dict[str, float]:
    """The confidence at or above which each field's machine value is accepted
    without review: the thresholds the calibration artefact derived for its
    target precision (`manage.py calibrate_confidence`), else 0.90.

    One table for the product and for `evaluate`, so what is measured is what
    ships. They apply to calibrated confidences (the default extractor).
    """
    return {
        name: _calibrated_thresholds().get(name, DEFAULT_AUTO_ACCEPT)
        for name in FIELD_NAMES
    }


def auto_accept_threshold(name: str) -> float:
    """The confidence at or above which field `name` is accepted unreviewed."""
    return _calibrated_thresholds().get(name, DEFAULT_AUTO_ACCEPT)


def auto_accept_support(name: str) -> int | None:
    """How many held-out values the calibrated threshold of `name` was chosen
    on (None without an evidence stage): small counts mean a cautious one."""
    support = _calibration_support().get(name)
    return None if support is None else int(support["samples"])


def auto_accept_evidence(name: str) -> dict[str, Any] | None:
    """The held-out figures behind the calibrated threshold of `name`:
    samples, accepted, errors, error_bound (None without an evidence stage)."""
    support = _calibration_support().get(name)
    return None if support is None else dict(support)


@lru_cache(maxsize=1)
def _calibration_support() -> dict[str, dict[str, Any]]:
    try:
        return load_calibration().threshold_support
    except CalibrationError:
        return {}


@lru_cache(maxsize=1)
def _calibrated_thresholds() -> dict[str, float]:
    try:
        return load_calibration().thresholds
    except CalibrationError:
        # The extractor fails loudly on a broken artefact at worker start;
        # the thresholds fall back so pages still render.
        return {}


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
    normalised = normalize_iban(value)
    if normalised is None or not iban_is_valid(normalised):
        raise InvalidValue(
            "Enter a valid IBAN, e.g. DE89 3704 0044 0532 0130 00; "
            "check the digits, the check sum does not match."
        )
    return normalised


def _bic(value: str) -> str:
    normalised = normalize_bic(value)
    if normalised is None:
        raise InvalidValue("Enter a BIC of 8 or 11 characters, e.g. COBADEFFXXX.")
    return normalised


def _vat_id(value: str) -> str:
    normalised = normalize_vat_id(value)
    # A country whose rule python-stdnum lacks is taken as typed: refusing it
    # would leave the person no way to record what the invoice says.
    if normalised is None or (
        vat_id_is_checkable(normalised) and not vat_id_is_valid(normalised)
    ):
        raise InvalidValue(
            "Enter a valid VAT id with its country prefix, e.g. DE136695976; "
            "check the digits, the check sum does not match."
        )
    return normalised


NORMALISERS: dict[str, Callable[[str], str]] = {
    "vendor_name": _text,
    "vendor_address": _text,
    "vendor_vat_id": _vat_id,
    "customer_name": _text,
    "invoice_number": _text,
    "invoice_date": _date,
    "due_date": _date,
    "po_number": _text,
    "currency": _currency,
    "subtotal_amount": _amount,
    "tax_amount": _amount,
    "total_amount": _amount,
    "iban": _iban,
    "bic": _bic,
    "payment_terms": _text,
}


def normalise_human_value(name: str, value: str) -> str:
    """The stored form of what a person typed for field `name`; an empty value
    clears the field. Raises InvalidValue with a message for that person."""
    if not value.strip():
        return ""
    return NORMALISERS[name](value)
