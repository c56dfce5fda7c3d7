"""Importing vendors, purchase orders and goods receipts from CSV or JSON.

`read_master_data` turns a file into numbered rows; `master_data_import` creates
or updates one record per row, each row in its own savepoint, and reports per
row whether it was created, updated, unchanged or rejected and why. Records
are matched by their ERP keys (vendor number, PO number + line number, receipt
reference + PO line), so importing the same file twice changes nothing.
Values are checked by the models' `clean` (IBAN checksum, VAT id, codes), the
same checks the admin runs.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db import models, transaction

from reviewapp.models.master_data import (
    GoodsReceipt,
    PurchaseOrder,
    PurchaseOrderLine,
    Vendor,
)

Outcome = Literal["created", "updated", "unchanged", "rejected"]
KINDS = ("vendors", "purchase_orders", "goods_receipts")

VENDOR_COLUMNS = frozenset(
    {
        "number",
        "name",
        "aliases",
        "vat_id",
        "ibans",
        "address",
        "country",
        "currency",
        "payment_terms_days",
        "active",
    }
)
PURCHASE_ORDER_COLUMNS = frozenset(
    {
        "number",
        "vendor",
        "currency",
        "price_tolerance_percent",
        "quantity_tolerance_percent",
        "line",
        "item_code",
        "description",
        "quantity",
        "unit_price",
    }
)
GOODS_RECEIPT_COLUMNS = frozenset(
    {"reference", "po_number", "line", "quantity_received", "received_on"}
)


class MasterDataFileError(Exception):
    """The file as a whole cannot be read; `str(error)` says why, for a person."""


class RowRejected(Exception):
    def __init__(self, reasons: Iterable[str]) -> None:
        self.reasons = tuple(reasons)
        super().__init__("; ".join(self.reasons))


@dataclass(frozen=True)
class RowOutcome:
    """What happened to one row: `row` is its line in a CSV file (the header is
    line 1) or its 1-based position in a JSON list."""

    row: int
    key: str
    outcome: Outcome
    reasons: tuple[str, ...] = ()


@dataclass
class ImportReport:
    kind: str
    rows: list[RowOutcome] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)

    @property
    def summary(self) -> str:
        return ", ".join(
            f"{self.count(outcome)} {outcome}"
            for outcome in ("created", "updated", "unchanged", "rejected")
        )


# --- reading files -------------------------------------------------------------


def read_master_data(name: str, content: bytes) -> list[tuple[int, dict[str, Any]]]:
    """The rows of a .csv or .json file, numbered for the report.

    JSON is a list of objects (or an object holding one list); a purchase
    order object may nest its lines under "lines". Raises MasterDataFileError.
    """
    suffix = Path(name).suffix.lower()
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MasterDataFileError(f"{name} is not UTF-8 text") from None
    if suffix == ".csv":
        return _read_csv(name, text)
    if suffix == ".json":
        return _read_json(name, text)
    raise MasterDataFileError(f"{name}: send a .csv or .json file")


def _read_csv(name: str, text: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise MasterDataFileError(f"{name} is empty: it needs a header row")
    rows = []
    for values in reader:
        # Extra cells without a header land under None; keep them as an error.
        clean = {(key or "").strip(): value for key, value in values.items() if key}
        if None in values:
            clean["(unnamed column)"] = values[None]
        rows.append((reader.line_num, clean))
    return rows


def _read_json(name: str, text: str) -> list[tuple[int, dict[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise MasterDataFileError(
            f"{name} is not valid JSON (line {error.lineno}: {error.msg})"
        ) from None
    if isinstance(data, dict) and len(data) == 1:
        data = next(iter(data.values()))
    if not isinstance(data, list):
        raise MasterDataFileError(f"{name}: expected a list of records")
    rows: list[tuple[int, dict[str, Any]]] = []
    for position, record in enumerate(data, start=1):
        if not isinstance(record, dict):
            rows.append((position, {"(record)": record}))
        elif isinstance(record.get("lines"), list):
            header = {key: value for key, value in record.items() if key != "lines"}
            for line in record["lines"]:
                rows.append(
                    (position, {**header, **(line if isinstance(line, dict) else {})})
                )
        else:
            rows.append((position, record))
    return rows


# --- parsing values ------------------------------------------------------------


def _text(row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    return "" if value is None else str(value).strip()


def _required(row: dict[str, Any], name: str, reasons: list[str]) -> str:
    value = _text(row, name)
    if not value:
        reasons.append(f"{name} is missing")
    return value


def _list(row: dict[str, Any], name: str) -> list[str]:
    value = row.get(name)
    if isinstance(value, list):
        return [str(item).strip() for item in value if str(item).strip()]
    return [
        part.strip() for part in re.split(r"[|;\n]", _text(row, name)) if part.strip()
    ]


def _decimal(
    row: dict[str, Any], name: str, reasons: list[str], *, required: bool = True
) -> Decimal | None:
    text = _text(row, name)
    if not text:
        if required:
            reasons.append(f"{name} is missing")
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        reasons.append(f"{name} “{text}” is not a number like 12.50")
        return None
    if not value.is_finite() or value < 0:
        reasons.append(f"{name} {text} must be zero or more")
        return None
    return value


def _bool(row: dict[str, Any], name: str, reasons: list[str]) -> bool:
    value = row.get(name)
    if isinstance(value, bool):
        return value
    text = _text(row, name).lower()
    if text in ("", "1", "true", "yes", "y"):
        return True
    if text in ("0", "false", "no", "n"):
        return False
    reasons.append(f"{name} “{text}” is not true or false")
    return True


def _unknown_columns(row: dict[str, Any], allowed: frozenset[str]) -> list[str]:
    unknown = sorted(set(row) - allowed)
    return [f"unknown column {', '.join(unknown)}"] if unknown else []


def _save(instance: models.Model, values: dict[str, Any], exclude: list[str]) -> bool:
    """Set `values`, check the model, save if anything changed; raises
    RowRejected with the model's messages. Returns whether it changed."""
    changed = instance._state.adding or any(
        getattr(instance, name) != value for name, value in values.items()
    )
    for name, value in values.items():
        setattr(instance, name, value)
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as error:
        raise RowRejected(
            message for messages in error.message_dict.values() for message in messages
        ) from None
    if changed:
        instance.save()
    return changed


# --- importing -----------------------------------------------------------------


def _import_vendor(row: dict[str, Any]) -> tuple[str, Outcome]:
    reasons = _unknown_columns(row, VENDOR_COLUMNS)
    number = _required(row, "number", reasons)
    name = _required(row, "name", reasons)
    terms_text = _text(row, "payment_terms_days")
    terms = None
    if terms_text:
        if terms_text.isdigit():
            terms = int(terms_text)
        else:
            reasons.append(f"payment_terms_days “{terms_text}” is not a whole number")
    active = _bool(row, "active", reasons)
    if reasons:
        raise RowRejected(reasons)
    vendor = Vendor.objects.filter(number=number).first() or Vendor(number=number)
    adding = vendor._state.adding
    candidate = Vendor(
        name=name,
        aliases=_list(row, "aliases"),
        vat_id=_text(row, "vat_id"),
        ibans=_list(row, "ibans"),
        address=_text(row, "address"),
        country=_text(row, "country"),
        currency=_text(row, "currency"),
        active=active,
        payment_terms_days=terms,
    )
    try:
        candidate.clean()  # normalised values, so a re-import compares equal
    except ValidationError as error:
        raise RowRejected(
            message for messages in error.message_dict.values() for message in messages
        ) from None
    values = {
        name: getattr(candidate, name)
        for name in (
            "name",
            "aliases",
            "vat_id",
            "ibans",
            "address",
            "country",
            "currency",
            "payment_terms_days",
            "active",
        )
    }
    changed = _save(vendor, values, exclude=[])
    return f"vendor {number}", _outcome(adding, changed)


def _outcome(adding: bool, changed: bool) -> Outcome:
    if adding:
        return "created"
    return "updated" if changed else "unchanged"


def _import_purchase_order_line(row: dict[str, Any]) -> tuple[str, Outcome]:
    reasons = _unknown_columns(row, PURCHASE_ORDER_COLUMNS)
    number = _required(row, "number", reasons)
    vendor_number = _required(row, "vendor", reasons)
    currency = _required(row, "currency", reasons).upper()
    line_number = _required(row, "line", reasons)
    description = _required(row, "description", reasons)
    quantity = _decimal(row, "quantity", reasons)
    unit_price = _decimal(row, "unit_price", reasons)
    price_tolerance = _decimal(row, "price_tolerance_percent", reasons, required=False)
    quantity_tolerance = _decimal(
        row, "quantity_tolerance_percent", reasons, required=False
    )
    vendor = Vendor.objects.filter(number=vendor_number).first()
    if vendor_number and vendor is None:
        reasons.append(
            f"vendor {vendor_number} is not on the vendor master; import vendors first"
        )
    if reasons:
        raise RowRejected(reasons)
    order = PurchaseOrder.objects.filter(number=number).first() or PurchaseOrder(
        number=number
    )
    if not order._state.adding and order.vendor_id != vendor.pk:  # type: ignore[union-attr]
        raise RowRejected(
            [f"purchase order {number} belongs to vendor {order.vendor.number}"]
        )
    order_adding = order._state.adding
    order_changed = _save(
        order,
        {
            "vendor": vendor,
            "currency": currency,
            "price_tolerance_percent": price_tolerance,
            "quantity_tolerance_percent": quantity_tolerance,
        },
        exclude=[],
    )
    line = PurchaseOrderLine.objects.filter(
        purchase_order=order, line_number=line_number
    ).first() or PurchaseOrderLine(purchase_order=order, line_number=line_number)
    line_adding = line._state.adding
    line_changed = _save(
        line,
        {
            "item_code": _text(row, "item_code"),
            "description": description,
            "quantity": quantity,
            "unit_price": unit_price,
        },
        exclude=[],
    )
    key = f"purchase order {number} line {line_number}"
    if order_adding or line_adding:
        return key, "created"
    return key, "updated" if order_changed or line_changed else "unchanged"


def _import_goods_receipt(row: dict[str, Any]) -> tuple[str, Outcome]:
    reasons = _unknown_columns(row, GOODS_RECEIPT_COLUMNS)
    reference = _required(row, "reference", reasons)
    po_number = _required(row, "po_number", reasons)
    line_number = _required(row, "line", reasons)
    quantity = _decimal(row, "quantity_received", reasons)
    received_text = _required(row, "received_on", reasons)
    received_on = None
    if received_text:
        try:
            received_on = date.fromisoformat(received_text)
        except ValueError:
            reasons.append(
                f"received_on “{received_text}” is not a date like 2026-11-02"
            )
    line = PurchaseOrderLine.objects.filter(
        purchase_order__number=po_number, line_number=line_number
    ).first()
    if po_number and line_number and line is None:
        reasons.append(f"purchase order {po_number} has no line {line_number}")
    if reasons:
        raise RowRejected(reasons)
    receipt = GoodsReceipt.objects.filter(
        reference=reference, line=line
    ).first() or GoodsReceipt(reference=reference, line=line)
    adding = receipt._state.adding
    changed = _save(
        receipt,
        {"quantity_received": quantity, "received_on": received_on},
        exclude=[],
    )
    return f"goods receipt {reference} for {po_number} line {line_number}", _outcome(
        adding, changed
    )


_IMPORTERS: dict[str, Callable[[dict[str, Any]], tuple[str, Outcome]]] = {
    "vendors": _import_vendor,
    "purchase_orders": _import_purchase_order_line,
    "goods_receipts": _import_goods_receipt,
}


def _row_key(kind: str, row: dict[str, Any]) -> str:
    if kind == "vendors":
        return f"vendor {_text(row, 'number') or '?'}"
    if kind == "purchase_orders":
        number, line = _text(row, "number") or "?", _text(row, "line") or "?"
        return f"purchase order {number} line {line}"
    return f"goods receipt {_text(row, 'reference') or '?'}"


def master_data_import(
    *, kind: str, rows: Iterable[tuple[int, dict[str, Any]]]
) -> ImportReport:
    """Create or update master data of `kind` ("vendors", "purchase_orders",
    "goods_receipts") from numbered rows (see `read_master_data`).

    Each row is its own savepoint: a rejected row changes nothing and the
    others still go in. Raises ValueError for an unknown kind.
    """
    if kind not in _IMPORTERS:
        raise ValueError(f"unknown master data kind {kind!r}; use {', '.join(KINDS)}")
    importer = _IMPORTERS[kind]
    report = ImportReport(kind=kind)
    for number, row in rows:
        try:
            with transaction.atomic():
                key, outcome = importer(row)
        except RowRejected as rejected:
            report.rows.append(
                RowOutcome(number, _row_key(kind, row), "rejected", rejected.reasons)
            )
            continue
        report.rows.append(RowOutcome(number, key, outcome))
    return report
