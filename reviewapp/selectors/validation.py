"""What validation needs from the database: the invoice, its lines and master data."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Prefetch,
    Q,
    QuerySet,
)
from django.utils import timezone

from pipeline.extract.evidence import EvidenceContext
from pipeline.registry import validation_rules
from pipeline.validate import types as validation
from pipeline.validate.duplicates import (
    image_fingerprint,
    normalise_invoice_number,
    text_shingles,
)
from pipeline.validate.vendors import match_vendor
from reviewapp.models.configuration import ValidationRuleSetting
from reviewapp.models.documents import Document, TextLine
from reviewapp.models.fields import Field
from reviewapp.models.master_data import GoodsReceipt, PurchaseOrder, Vendor
from reviewapp.models.validation import DocumentValidation
from reviewapp.selectors.documents import DEFAULT_DOCUMENT_TYPE, document_type_unsure

logger = logging.getLogger(__name__)

# The review-workflow branch adds approval statuses; until then nothing counts
# as approved and the bank-detail rule compares with the vendor master only.
_APPROVED = getattr(Document.Status, "APPROVED", None)


def document_text(document: Document) -> str:
    """Every line read on the document, page by page, in reading order."""
    lines = TextLine.objects.filter(page__document=document).order_by(
        "page__number", "order"
    )
    return "\n".join(lines.values_list("text", flat=True))


def document_image_fingerprint(
    document: Document, *, pages_just_read: bool = False
) -> int | None:
    """The difference hash of page 1, or None when it has no stored image.

    Pages change only when the document is read, so unless it just was, the
    hash the last validation kept is the page's: a person's correction is
    checked without decoding a full page image again (20 ms of every save)."""
    if not pages_just_read:
        kept = (
            DocumentValidation.objects.filter(document=document)
            .values_list("image_fingerprint", flat=True)
            .first()
        )
        if kept:
            return int(kept, 16)
    page = document.pages.filter(number=1).first()
    if page is None or not page.image:
        return None
    try:
        with page.image.open("rb") as image:
            return image_fingerprint(image.read())
    except (OSError, ValueError):
        logger.warning("page 1 of %s could not be fingerprinted", document.public_id)
        return None


def invoice_data_for(
    document: Document, *, pages_just_read: bool = False
) -> validation.InvoiceData:
    """The document as the validation rules see it: each field's current value
    (a person's correction wins, since it is what `Field.value` holds), its
    text and page fingerprint (see `document_image_fingerprint`)."""
    values = dict(document.fields.exclude(value="").values_list("name", "value"))
    # The rule set follows the document's type: a type a person set (a
    # "document_type" field) wins over the classifier's; a document never
    # classified, or classified without enough confidence, is checked as an
    # invoice, the strictest set.
    document_type = values.pop("document_type", "") or (
        document.document_type
        if document.document_type and not document_type_unsure(document)
        else DEFAULT_DOCUMENT_TYPE
    )
    return validation.InvoiceData(
        document_type=document_type,
        fields=values,
        line_items=validation_lines(document),
        document_id=str(document.public_id),
        channel=document.get_channel_display(),
        text=document_text(document),
        image_fingerprint=document_image_fingerprint(
            document, pages_just_read=pages_just_read
        ),
    )


def validation_lines(document: Document) -> tuple[validation.LineItem, ...]:
    """The document's line items in grid order, as the rules read them."""
    return tuple(
        validation.LineItem(
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.amount,
            tax_rate=line.tax_rate,
            item_code=line.item_code,
        )
        for line in document.line_items.order_by("position", "id")
    )


def evidence_context_for(document: Document) -> EvidenceContext:
    """What the evidence stage may weigh beyond the pages: the day the
    document arrived (its dates are judged against it) and the vendor master,
    whose identifiers confirm or contradict what was read."""
    return EvidenceContext(
        received=timezone.localdate(document.created_at),
        vendors=tuple(
            vendor_record(vendor) for vendor in Vendor.objects.filter(active=True)
        ),
    )


def vendor_record(vendor: Vendor) -> validation.VendorRecord:
    return validation.VendorRecord(
        id=str(vendor.public_id),
        name=vendor.name,
        aliases=tuple(vendor.aliases),
        vat_id=vendor.vat_id,
        ibans=tuple(vendor.ibans),
        address=vendor.address,
        country=vendor.country,
        currency=vendor.currency,
        payment_terms_days=vendor.payment_terms_days,
        active=vendor.active,
    )


def _candidate_purchase_orders(po_number: str) -> QuerySet[PurchaseOrder]:
    # The rules compare numbers without punctuation ("PO 55120" = "PO-55120");
    # narrowing by the digits keeps that without loading every order.
    digits = re.sub(r"\D", "", po_number)
    condition = Q(number__iexact=po_number.strip())
    if digits:
        condition |= Q(number__contains=digits)
    return (
        PurchaseOrder.objects.filter(condition)
        .select_related("vendor")
        .prefetch_related("lines")
    )


def _prior_invoices(
    invoice: validation.InvoiceData, document: Document, vendor_id: str
) -> tuple[validation.PriorInvoice, ...]:
    """Earlier documents matched to the same vendor, for duplicates and the
    bank-detail history. Text is read only for those with the same total."""
    others = (
        DocumentValidation.objects.filter(vendor__public_id=vendor_id)
        .exclude(document=document)
        .select_related("document")
        .prefetch_related(
            Prefetch("document__fields", queryset=Field.objects.exclude(value=""))
        )
    )
    total = invoice.amount(validation.TOTAL_AMOUNT)
    priors = []
    for other in others:
        fields = {field.name: field.value for field in other.document.fields.all()}
        prior_total = validation.parse_decimal(fields.get("total_amount", ""))
        same_total = total is not None and prior_total == total
        priors.append(
            validation.PriorInvoice(
                document_id=str(other.document.public_id),
                vendor_id=vendor_id,
                invoice_number=normalise_invoice_number(
                    fields.get("invoice_number", "")
                ),
                total=prior_total,
                currency=fields.get("currency", ""),
                invoice_date=validation.parse_iso_date(fields.get("invoice_date", "")),
                received_on=other.document.created_at.date(),
                text_shingles=(
                    text_shingles(document_text(other.document))
                    if same_total
                    else frozenset()
                ),
                image_fingerprint=(
                    int(other.image_fingerprint, 16)
                    if same_total and other.image_fingerprint
                    else None
                ),
                iban=fields.get("iban", ""),
                approved=_APPROVED is not None and other.document.status == _APPROVED,
                channel=other.document.get_channel_display(),
            )
        )
    return tuple(priors)


def tolerances() -> validation.Tolerances:
    """The rules' tolerances, with those the settings make configurable."""
    return validation.Tolerances(
        max_age_days=settings.VOUCH_INVOICE_MAX_AGE_DAYS,
        duplicate_window_days=settings.VOUCH_DUPLICATE_WINDOW_DAYS,
        po_price_percent=Decimal(settings.VOUCH_PO_PRICE_TOLERANCE_PERCENT),
        po_quantity_percent=Decimal(settings.VOUCH_PO_QUANTITY_TOLERANCE_PERCENT),
    )


def validation_context_for(
    invoice: validation.InvoiceData,
    document: Document,
    *,
    today: date,
    with_earlier_documents: bool = True,
) -> validation.ValidationContext:
    """Master data and earlier documents the rules compare `invoice` with;
    without `with_earlier_documents`, master data only (no text is read)."""
    vendors = tuple(vendor_record(vendor) for vendor in Vendor.objects.all())
    po_number = invoice.value(validation.PO_NUMBER)
    orders = list(_candidate_purchase_orders(po_number)) if po_number else []
    receipts = GoodsReceipt.objects.filter(
        line__purchase_order__in=orders
    ).select_related("line__purchase_order")
    context = validation.ValidationContext(
        today=today,
        tolerances=tolerances(),
        vendors=vendors,
        purchase_orders=tuple(
            validation.PurchaseOrder(
                number=order.number,
                vendor_id=str(order.vendor.public_id),
                currency=order.currency,
                lines=tuple(
                    validation.PurchaseOrderLine(
                        line_ref=line.line_number,
                        description=line.description,
                        quantity=line.quantity,
                        unit_price=line.unit_price,
                        item_code=line.item_code,
                    )
                    for line in order.lines.all()
                ),
                price_tolerance_percent=order.price_tolerance_percent,
                quantity_tolerance_percent=order.quantity_tolerance_percent,
            )
            for order in orders
        ),
        goods_receipts=tuple(
            validation.GoodsReceipt(
                po_number=receipt.line.purchase_order.number,
                line_ref=receipt.line.line_number,
                quantity_received=receipt.quantity_received,
                received_on=receipt.received_on,
                reference=receipt.reference,
            )
            for receipt in receipts
        ),
    )
    match = match_vendor(invoice, context) if with_earlier_documents else None
    if match is None:
        return context
    return replace(
        context, prior_invoices=_prior_invoices(invoice, document, match.vendor_id)
    )


def enabled_rules_for(document_type: str) -> set[str] | None:
    """The rule codes to run for `document_type`, or None for all of them:
    admins switch rules off with ValidationRuleSetting rows."""
    switched_off = set(
        ValidationRuleSetting.objects.filter(
            document_type=document_type, enabled=False
        ).values_list("rule", flat=True)
    )
    if not switched_off:
        return None
    return {spec.code for spec in validation_rules.all()} - switched_off
