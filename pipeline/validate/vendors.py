"""Which vendor sent the invoice, and whether its currency is the expected one.

Matching is exact first (a VAT id or an IBAN on the vendor master), then fuzzy
on the name (and aliases) plus the address, with rapidfuzz. The fuzzy score is
the match confidence; below `tolerances.vendor_name_min_score` the vendor is
unknown, which is an exception for a person to resolve.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from rapidfuzz import fuzz

from pipeline.validate.types import (
    CURRENCY,
    DUE_DATE,
    IBAN,
    INVOICE_DATE,
    PO_NUMBER,
    VENDOR_ADDRESS,
    VENDOR_NAME,
    VENDOR_VAT_ID,
    InvoiceData,
    Issue,
    PurchaseOrder,
    ValidationContext,
    VendorMatch,
    VendorRecord,
)
from pipeline.validate.wording import compact_iban

# Legal forms say nothing about who a vendor is: "Harbor Supply Co. Inc." and
# "HARBOR SUPPLY" are the same company.
_LEGAL_FORMS = re.compile(
    r"\b(?:gmbh|ag|kg|ohg|ug|mbh|co|company|inc|incorporated|corp|corporation|"
    r"llc|ltd|limited|plc|sarl|sas|sa|srl|spa|bv|nv|sdn|bhd|pte|pty|oy|ab|as)\b"
)
# How much the address adds to the name when both sides have one.
_ADDRESS_WEIGHT = 0.3
# A runner-up this close to the best name score makes the match uncertain.
_AMBIGUITY_MARGIN = 5.0


def normalise_vat_id(text: str) -> str:
    """ "DE 811.907-980" -> "DE811907980", for comparing, not for checking."""
    return re.sub(r"[^0-9A-Z]", "", text.upper())


_GERMAN_FOLDS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def _fold(text: str) -> str:
    """Lower case ASCII: "Bürobedarf" -> "buerobedarf", "Frères" -> "freres"."""
    folded = text.lower().translate(_GERMAN_FOLDS)
    return unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()


def normalise_name(text: str) -> str:
    """Folded to ASCII, punctuation and legal forms removed, spaces collapsed."""
    # Dots go first, so "S.A.R.L." is the legal form "sarl", not four letters.
    words = re.sub(r"[^\w]+", " ", _fold(text).replace(".", ""))
    return " ".join(_LEGAL_FORMS.sub(" ", words).split())


def _squashed(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", _fold(text))


def _name_score(invoice_name: str, vendor: VendorRecord) -> float:
    return name_score(invoice_name, vendor.name, vendor.aliases)


def name_score(invoice_name: str, name: str, aliases: Sequence[str] = ()) -> float:
    """0..100: how alike the printed name is to a vendor's name or an alias.

    OCR often drops the spaces of capitalised names ("NORDLICHTBUEROBEDARFGMBH"),
    so names are also compared with every space and mark removed, with and
    without their legal form.
    """
    wanted_words = normalise_name(invoice_name)
    wanted_squashed = _squashed(invoice_name)
    if not wanted_squashed:
        return 0.0
    best = 0.0
    for candidate in (name, *aliases):
        words = normalise_name(candidate)
        scores = [fuzz.ratio(wanted_squashed, _squashed(candidate))]
        if words:
            scores.append(fuzz.ratio(wanted_squashed, words.replace(" ", "")))
            if wanted_words:
                scores.append(fuzz.token_sort_ratio(wanted_words, words))
        best = max(best, *scores)
    return best


def _address_score(invoice_address: str, vendor: VendorRecord) -> float | None:
    if not invoice_address.strip() or not vendor.address.strip():
        return None
    return float(fuzz.token_set_ratio(invoice_address.lower(), vendor.address.lower()))


def match_vendor(
    invoice: InvoiceData, context: ValidationContext
) -> VendorMatch | None:
    """The vendor master record the invoice comes from, or None when unknown.

    A person's confirmation wins, then the VAT id, then the IBAN (both exact,
    confidence 1.0), then the best fuzzy name (+ address) score of at least
    `tolerances.vendor_name_min_score`, as a 0..1 confidence; below the sure
    score when another vendor's name scores almost as well.
    """
    if invoice.confirmed_vendor_id and context.vendor(invoice.confirmed_vendor_id):
        return VendorMatch(invoice.confirmed_vendor_id, "confirmed", 1.0)
    vat_id = normalise_vat_id(invoice.value(VENDOR_VAT_ID))
    if vat_id:
        for vendor in context.vendors:
            if vendor.vat_id and normalise_vat_id(vendor.vat_id) == vat_id:
                return VendorMatch(vendor.id, "vat_id", 1.0)
    iban = compact_iban(invoice.value(IBAN))
    if iban:
        for vendor in context.vendors:
            if iban in {compact_iban(known) for known in vendor.ibans}:
                return VendorMatch(vendor.id, "iban", 1.0)
    name = invoice.value(VENDOR_NAME)
    if not name:
        return None
    scored = []
    for vendor in context.vendors:
        score = _name_score(name, vendor)
        address_score = _address_score(invoice.value(VENDOR_ADDRESS), vendor)
        if address_score is not None:
            score = (1 - _ADDRESS_WEIGHT) * score + _ADDRESS_WEIGHT * address_score
        scored.append((score, vendor.id))
    scored.sort(key=lambda item: item[0], reverse=True)
    tolerances = context.tolerances
    if not scored or scored[0][0] < tolerances.vendor_name_min_score:
        return None
    best_score, vendor_id = scored[0]
    confidence = best_score / 100
    if len(scored) > 1 and best_score - scored[1][0] < _AMBIGUITY_MARGIN:
        # "ACME GmbH" and "ACME Ltd" both read "acme": never sure which one.
        confidence = min(confidence, (tolerances.vendor_name_sure_score - 1) / 100)
    return VendorMatch(vendor_id, "name", round(confidence, 3))


def vendor_known(invoice: InvoiceData, context: ValidationContext) -> list[Issue]:
    """The invoice's vendor is on the vendor master, active, and matched surely.

    No match is an error (an unknown vendor is never paid unchecked); an
    inactive vendor is an error; a name-only match below
    `tolerances.vendor_name_sure_score` is a warning showing the confidence.
    """
    match = match_vendor(invoice, context)
    name = invoice.value(VENDOR_NAME)
    if match is None:
        described = f"“{name}”" if name else "The sender"
        return [
            Issue(
                code="vendor_unknown",
                severity="error",
                fields=(VENDOR_NAME, VENDOR_VAT_ID, IBAN),
                message=(
                    f"{described} matches no vendor on the vendor master by VAT id, "
                    "IBAN or name; add the vendor or correct the fields."
                ),
            )
        ]
    vendor = context.vendor(match.vendor_id)
    assert vendor is not None  # match_vendor only returns vendors of the context
    issues = []
    if not vendor.active:
        issues.append(
            Issue(
                code="vendor_inactive",
                severity="error",
                fields=(VENDOR_NAME,),
                message=f"{vendor.name} is marked inactive on the vendor master.",
                details={"vendor_id": vendor.id},
            )
        )
    sure = context.tolerances.vendor_name_sure_score / 100
    if match.method == "name" and match.confidence < sure:
        issues.append(
            Issue(
                code="vendor_uncertain",
                severity="warning",
                fields=(VENDOR_NAME, VENDOR_ADDRESS),
                message=(
                    f"“{name}” was matched to {vendor.name} by name only, "
                    f"with {match.confidence:.0%} confidence; confirm the vendor."
                ),
                details={"vendor_id": vendor.id, "confidence": match.confidence},
            )
        )
    return issues


def find_purchase_order(
    invoice: InvoiceData, context: ValidationContext
) -> PurchaseOrder | None:
    """The purchase order the invoice quotes, compared without spaces or case."""
    wanted = normalise_po_number(invoice.value(PO_NUMBER))
    if not wanted:
        return None
    return next(
        (
            order
            for order in context.purchase_orders
            if normalise_po_number(order.number) == wanted
        ),
        None,
    )


def normalise_po_number(text: str) -> str:
    """ "po 55120" and "PO-55120" are the same order number."""
    return re.sub(r"[^0-9A-Z]", "", text.upper())


def currency_expected(invoice: InvoiceData, context: ValidationContext) -> list[Issue]:
    """The invoice currency is the purchase order's (error) or, without a PO,
    the vendor's usual currency (warning: vendors sometimes bill otherwise)."""
    currency = invoice.value(CURRENCY).upper()
    if not currency:
        return []
    order = find_purchase_order(invoice, context)
    if order is not None and order.currency and order.currency != currency:
        return [
            Issue(
                code="currency_differs_from_po",
                severity="error",
                fields=(CURRENCY, PO_NUMBER),
                message=(
                    f"The invoice is in {currency}, but purchase order "
                    f"{order.number} is in {order.currency}."
                ),
                details={"expected": order.currency, "found": currency},
            )
        ]
    if order is not None:
        return []
    match = match_vendor(invoice, context)
    vendor = context.vendor(match.vendor_id) if match else None
    if vendor is None or not vendor.currency or vendor.currency == currency:
        return []
    return [
        Issue(
            code="currency_differs_from_vendor",
            severity="warning",
            fields=(CURRENCY,),
            message=(
                f"The invoice is in {currency}, but {vendor.name} normally bills "
                f"in {vendor.currency}."
            ),
            details={"expected": vendor.currency, "found": currency},
        )
    ]


def due_date_within_terms(
    invoice: InvoiceData, context: ValidationContext
) -> list[Issue]:
    """The due date leaves at least the vendor's agreed payment terms (warning:
    paying earlier than agreed loses the float, and can hide a rushed fraud)."""
    invoice_date, due_date = invoice.date(INVOICE_DATE), invoice.date(DUE_DATE)
    if invoice_date is None or due_date is None or due_date < invoice_date:
        return []  # a due date before the invoice date is its own error
    match = match_vendor(invoice, context)
    vendor = context.vendor(match.vendor_id) if match else None
    terms = vendor.payment_terms_days if vendor else None
    days = (due_date - invoice_date).days
    if vendor is None or terms is None or days >= terms:
        return []
    return [
        Issue(
            code="due_date_before_terms",
            severity="warning",
            fields=(DUE_DATE, INVOICE_DATE),
            message=(
                f"The invoice asks for payment within {days} day"
                f"{'s' if days != 1 else ''}, but {vendor.name}'s agreed terms "
                f"are {terms} days."
            ),
            details={"days": days, "terms_days": terms},
        )
    ]
