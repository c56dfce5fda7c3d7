"""Frozen dataclasses the validation rules read and the issues they report.

Everything here is plain data: the Django side builds these from its rows, the
rules never look anything up themselves. Identifiers (vendor, document) are
strings so the rules do not care what the database uses as a key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Literal

Severity = Literal["error", "warning"]
MatchMethod = Literal["confirmed", "vat_id", "iban", "name"]

# Document types the default rule set knows about.
INVOICE = "invoice"
CREDIT_NOTE = "credit_note"
RECEIPT = "receipt"
DOCUMENT_TYPES = (INVOICE, CREDIT_NOTE, RECEIPT)

# Field names, as the extractor and the review page spell them. Amounts are
# plain decimals ("1234.50"), dates ISO, currency ISO 4217, IBAN without spaces.
# They match reviewapp/extraction_fields.py.
VENDOR_NAME = "vendor_name"
VENDOR_ADDRESS = "vendor_address"
VENDOR_VAT_ID = "vendor_vat_id"
IBAN = "iban"
BIC = "bic"
CUSTOMER_NAME = "customer_name"
PAYMENT_TERMS = "payment_terms"
INVOICE_NUMBER = "invoice_number"
INVOICE_DATE = "invoice_date"
DUE_DATE = "due_date"
PO_NUMBER = "po_number"
SUBTOTAL_AMOUNT = "subtotal_amount"
TAX_AMOUNT = "tax_amount"
TOTAL_AMOUNT = "total_amount"
CURRENCY = "currency"

AMOUNT_FIELDS = frozenset({SUBTOTAL_AMOUNT, TAX_AMOUNT, TOTAL_AMOUNT})
DATE_FIELDS = frozenset({INVOICE_DATE, DUE_DATE})

DEFAULT_REQUIRED_FIELDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        INVOICE: (
            VENDOR_NAME,
            INVOICE_NUMBER,
            INVOICE_DATE,
            TOTAL_AMOUNT,
            CURRENCY,
        ),
        CREDIT_NOTE: (
            VENDOR_NAME,
            INVOICE_NUMBER,
            INVOICE_DATE,
            TOTAL_AMOUNT,
            CURRENCY,
        ),
        RECEIPT: (VENDOR_NAME, INVOICE_DATE, TOTAL_AMOUNT),
    }
)


def parse_decimal(text: str) -> Decimal | None:
    """A normalised amount ("1234.50", "-8.79") as a Decimal; None otherwise."""
    text = text.strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def parse_iso_date(text: str) -> date | None:
    """An ISO yyyy-mm-dd date; None for anything else."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


@dataclass(frozen=True)
class LineItem:
    """One invoice line as extracted; any number may be missing."""

    description: str
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    amount: Decimal | None = None
    tax_rate: Decimal | None = None  # percent: Decimal("19") for 19 %
    item_code: str = ""  # the vendor's or our article number, when printed


@dataclass(frozen=True)
class InvoiceData:
    """The document being validated: its type, normalised fields and lines."""

    document_type: str
    fields: Mapping[str, str] = field(default_factory=dict)
    line_items: tuple[LineItem, ...] = ()
    document_id: str = ""  # so a document is never its own duplicate
    channel: str = ""  # upload, email, api ... shown in duplicate messages
    text: str = ""  # the full text read from the document
    image_fingerprint: int | None = None  # `duplicates.image_fingerprint`
    # A vendor a person has confirmed on the review page; matching takes it as
    # given instead of guessing again.
    confirmed_vendor_id: str | None = None

    def __post_init__(self) -> None:
        # A read-only copy, so nobody edits an invoice half-way through the rules.
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))

    def value(self, name: str) -> str:
        """The field's value with surrounding space removed; "" when absent."""
        return self.fields.get(name, "").strip()

    def amount(self, name: str) -> Decimal | None:
        """The field as a Decimal; None when absent or not a plain decimal."""
        return parse_decimal(self.value(name))

    def date(self, name: str) -> date | None:
        """The field as a date; None when absent or not ISO."""
        return parse_iso_date(self.value(name))


@dataclass(frozen=True)
class VendorRecord:
    """A vendor from the vendor master."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()
    vat_id: str = ""
    ibans: tuple[str, ...] = ()
    address: str = ""
    country: str = ""  # ISO 3166 alpha-2
    currency: str = ""  # ISO 4217, the currency the vendor normally bills in
    payment_terms_days: int | None = None
    active: bool = True


@dataclass(frozen=True)
class PurchaseOrderLine:
    """One ordered item."""

    line_ref: str  # the PO's own line number, what goods receipts point at
    description: str
    quantity: Decimal
    unit_price: Decimal
    item_code: str = ""


@dataclass(frozen=True)
class PurchaseOrder:
    """A purchase order; tolerances left as None fall back to the context's."""

    number: str
    vendor_id: str
    currency: str
    lines: tuple[PurchaseOrderLine, ...] = ()
    price_tolerance_percent: Decimal | None = None
    quantity_tolerance_percent: Decimal | None = None


@dataclass(frozen=True)
class GoodsReceipt:
    """A quantity of one PO line received into the warehouse."""

    po_number: str
    line_ref: str
    quantity_received: Decimal
    received_on: date
    reference: str = ""  # the receipt's own number, for messages


@dataclass(frozen=True)
class PriorInvoice:
    """A document seen before, as much as duplicate and bank checks need."""

    document_id: str
    vendor_id: str
    invoice_number: str  # normalised with `duplicates.normalise_invoice_number`
    total: Decimal | None = None
    currency: str = ""
    invoice_date: date | None = None
    received_on: date | None = None
    text_shingles: frozenset[int] = frozenset()  # `duplicates.text_shingles`
    image_fingerprint: int | None = None
    iban: str = ""
    approved: bool = False
    channel: str = ""


@dataclass(frozen=True)
class Tolerances:
    """How far numbers may drift before a rule complains; all configurable."""

    line_amount: Decimal = Decimal("0.01")  # quantity x unit price vs amount
    document_total: Decimal = Decimal("0.02")  # sums of lines, subtotal + tax
    future_days: int = 0  # an invoice dated this many days ahead is still fine
    max_age_days: int = 730  # older than this reads as a misread year
    po_price_percent: Decimal = Decimal("2")
    po_quantity_percent: Decimal = Decimal("0")
    vendor_name_min_score: float = 80.0  # 0..100; below it the vendor is unknown
    vendor_name_sure_score: float = 95.0  # below it a name match asks a person
    duplicate_window_days: int = 14
    duplicate_text_similarity: float = 0.85  # Jaccard of character shingles
    duplicate_image_max_distance: int = 6  # differing bits of 64


@dataclass(frozen=True)
class ValidationContext:
    """What the rules may compare an invoice with, and the rules' settings.

    `today` is injected so the rules give the same answer in tests, in a
    re-run next month and in the worker's time zone.
    """

    today: date
    vendors: tuple[VendorRecord, ...] = ()
    purchase_orders: tuple[PurchaseOrder, ...] = ()
    goods_receipts: tuple[GoodsReceipt, ...] = ()
    prior_invoices: tuple[PriorInvoice, ...] = ()
    tolerances: Tolerances = field(default_factory=Tolerances)
    required_fields: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: DEFAULT_REQUIRED_FIELDS
    )

    def vendor(self, vendor_id: str) -> VendorRecord | None:
        return next((v for v in self.vendors if v.id == vendor_id), None)


@dataclass(frozen=True)
class Issue:
    """One thing a person should look at before the invoice is paid.

    `fields` names the fields involved (line fields as "line_items[0].amount",
    0-based) so the review page can point at them; `message` is for an AP
    clerk and never holds a full IBAN. `needs_supervisor` marks exceptions that
    only a supervisor other than the person who handled the document may
    approve. `rule` is filled in by `run_rules` with the code of the rule that
    found the issue.
    """

    code: str
    severity: Severity
    fields: tuple[str, ...]
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)
    needs_supervisor: bool = False
    rule: str = ""


@dataclass(frozen=True)
class VendorMatch:
    """Which vendor the invoice is from, how we know, and how sure we are."""

    vendor_id: str
    method: MatchMethod
    confidence: float  # 0..1; 1.0 for confirmed, VAT id and IBAN matches


@dataclass(frozen=True)
class ValidationResult:
    """What `run_rules` found: the issues, the vendor and which rules ran."""

    issues: tuple[Issue, ...]
    vendor_match: VendorMatch | None
    rules_run: tuple[str, ...]

    @property
    def errors(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity == "warning")

    @property
    def needs_supervisor(self) -> bool:
        return any(i.needs_supervisor for i in self.issues)
