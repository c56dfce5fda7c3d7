"""Invoice line items as the review grid and the exports show them."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings

from pipeline.extract.line_items import line_amount_matches
from pipeline.validate.wording import line_field
from reviewapp.export_formats import decimal_text, money_text
from reviewapp.extraction_fields import DEFAULT_AUTO_ACCEPT
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document
from reviewapp.models.fields import LineItem
from reviewapp.models.validation import ValidationIssue

EventType = AuditEvent.EventType


NUMBER_COLUMNS = ("quantity", "unit_price", "amount", "tax_rate")
TEXT_COLUMNS = ("description", "item_code")
EDITABLE_COLUMNS = TEXT_COLUMNS + NUMBER_COLUMNS
COLUMN_LABELS = {
    "description": "description",
    "item_code": "item code",
    "quantity": "quantity",
    "unit_price": "unit price",
    "amount": "amount",
    "tax_rate": "VAT %",
}


# --- reading for the page and exports ------------------------------------------


def arithmetic_holds(line: LineItem) -> bool | None:
    """quantity x unit price = amount; None when a number is missing."""
    if line.quantity is None or line.unit_price is None or line.amount is None:
        return None
    return line_amount_matches(line.quantity, line.unit_price, line.amount)


def row_values(line: LineItem) -> dict[str, str]:
    """A line's editable values as the grid shows them and the audit records
    them."""
    return {
        "description": line.description,
        "item_code": line.item_code,
        "quantity": decimal_text(line.quantity),
        "unit_price": decimal_text(line.unit_price),
        "amount": money_text(line.amount),
        "tax_rate": decimal_text(line.tax_rate),
    }


def line_item_payload(
    line: LineItem, index: int, *, flag_below: float = DEFAULT_AUTO_ACCEPT
) -> dict[str, Any]:
    """One grid row as the page script reads it; `flagged` when the machine
    read it with less confidence than `flag_below`."""
    holds = arithmetic_holds(line)
    expected = (
        money_text(line.quantity * line.unit_price)
        if line.quantity is not None and line.unit_price is not None
        else ""
    )
    values = row_values(line)
    return {
        "id": line.pk,
        "index": index,
        "position": line.position,
        **values,
        "confidence": line.confidence,
        "flagged": line.set_by == LineItem.SetBy.MACHINE
        and line.confidence is not None
        and line.confidence < flag_below,
        "set_by": line.set_by,
        "page": line.page.number if line.page_id and line.page else None,
        "box": line.box,
        "arithmetic_ok": holds,
        "expected_amount": expected,
        "field_prefix": line_field(index, "")[:-1],
        # (column, label, value, is a number) for each grid cell.
        "cells": [
            (column, COLUMN_LABELS[column], values[column], column in NUMBER_COLUMNS)
            for column in EDITABLE_COLUMNS
        ],
    }


def line_grid(document: Document) -> dict[str, Any]:
    """What the review page's grid shows: the rows with their checks, the sum
    of the line amounts and the subtotal it should equal."""
    lines = document.line_items.select_related("page").order_by("position", "id")
    # Lines are flagged like fields without a calibrated threshold: below the
    # default auto-accept confidence, or VOUCH_FLAG_BELOW_CONFIDENCE_PERCENT.
    override = settings.VOUCH_FLAG_BELOW_CONFIDENCE
    flag_below = float(override) if override is not None else DEFAULT_AUTO_ACCEPT
    failing = _lines_failing_checks(document)
    rows = [
        {
            **line_item_payload(line, index, flag_below=flag_below),
            # A line a check names (a PO mismatch ...) must not look settled
            # just because its own arithmetic holds.
            "fails_check": index in failing,
        }
        for index, line in enumerate(lines)
    ]
    amounts = [line.amount for line in lines if line.amount is not None]
    subtotal = (
        document.fields.filter(name="subtotal_amount")
        .values_list("value", flat=True)
        .first()
    )
    total = sum(amounts, Decimal(0)) if amounts else None
    try:
        expected = Decimal(subtotal) if subtotal else None
    except InvalidOperation:
        expected = None
    return {
        "rows": rows,
        "lines_total": money_text(total),
        "subtotal": money_text(expected),
        "sums_to_subtotal": (
            None
            if total is None or expected is None
            else abs(total - expected) <= Decimal("0.01") * max(len(amounts), 1)
        ),
    }


def _lines_failing_checks(document: Document) -> set[int]:
    """0-based indexes of the lines a failing check names."""
    named = ValidationIssue.objects.filter(
        document=document, severity=ValidationIssue.Severity.ERROR
    ).values_list("fields", flat=True)
    return {
        int(match[1])
        for fields in named
        for name in fields
        if (match := re.fullmatch(r"line_items\[(\d+)\]\.\w+", name))
    }
