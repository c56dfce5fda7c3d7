"""The business's master data: vendors, purchase orders and goods receipts."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from pipeline.validate.identifiers import check_iban, check_vat_id

# --- master data ---------------------------------------------------------------


class Vendor(models.Model):
    """A supplier as the ERP knows it. `number` is the ERP's vendor number, the
    key an import updates by. IBANs are stored compact (no spaces, upper case)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    number = models.CharField(max_length=50, unique=True, help_text="ERP vendor number")
    name = models.CharField(max_length=200)
    aliases = models.JSONField(
        default=list, blank=True, help_text='Other names it prints, e.g. ["ACME"]'
    )
    vat_id = models.CharField("VAT id", max_length=32, blank=True, db_index=True)
    ibans = models.JSONField(
        "IBANs", default=list, blank=True, help_text='Known accounts, e.g. ["DE89..."]'
    )
    address = models.TextField(blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166, e.g. DE")
    currency = models.CharField(
        max_length=3, blank=True, help_text="ISO 4217, e.g. EUR"
    )
    payment_terms_days = models.PositiveIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "number"]

    def __str__(self) -> str:
        return f"{self.name} ({self.number})"

    def clean(self) -> None:
        """Normalise and check identifiers; raises ValidationError per field with
        a sentence for the person importing or editing."""
        errors: dict[str, list[str]] = {}
        self.country = self.country.strip().upper()
        self.currency = self.currency.strip().upper()
        if self.country and not re.fullmatch(r"[A-Z]{2}", self.country):
            errors.setdefault("country", []).append(
                f"“{self.country}” is not a two-letter country code such as DE."
            )
        if self.currency and not re.fullmatch(r"[A-Z]{3}", self.currency):
            errors.setdefault("currency", []).append(
                f"“{self.currency}” is not a three-letter currency code such as EUR."
            )
        if not isinstance(self.aliases, list) or not all(
            isinstance(alias, str) for alias in self.aliases
        ):
            errors.setdefault("aliases", []).append("Aliases must be a list of names.")
        if not isinstance(self.ibans, list) or not all(
            isinstance(iban, str) for iban in self.ibans
        ):
            errors.setdefault("ibans", []).append("IBANs must be a list of accounts.")
        else:
            compact = []
            for iban in self.ibans:
                check = check_iban(iban)
                if not check.valid:
                    errors.setdefault("ibans", []).append(
                        f"IBAN {check.compact} is not valid: {check.problem}."
                    )
                compact.append(check.compact)
            self.ibans = list(dict.fromkeys(compact))
        if self.vat_id.strip():
            vat = check_vat_id(self.vat_id, default_country=self.country)
            if not vat.valid:
                errors.setdefault("vat_id", []).append(
                    f"VAT id {self.vat_id} is not valid: {vat.problem}."
                )
            self.vat_id = vat.compact
        if errors:
            raise ValidationError(errors)


class PurchaseOrder(models.Model):
    """An order placed with a vendor. Tolerances left empty use the settings
    VOUCH_PO_PRICE_TOLERANCE_PERCENT and VOUCH_PO_QUANTITY_TOLERANCE_PERCENT."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    number = models.CharField(max_length=50, unique=True)
    vendor = models.ForeignKey(
        Vendor, on_delete=models.PROTECT, related_name="purchase_orders"
    )
    currency = models.CharField(max_length=3)
    price_tolerance_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
    )
    quantity_tolerance_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "number"]
        verbose_name = "purchase order"

    def __str__(self) -> str:
        return self.number

    def clean(self) -> None:
        self.currency = self.currency.strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", self.currency):
            raise ValidationError(
                {"currency": f"“{self.currency}” is not a currency code such as EUR."}
            )


class PurchaseOrderLine(models.Model):
    """One ordered item; `line_number` is the PO's own, what receipts point at."""

    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="lines"
    )
    line_number = models.CharField(max_length=20)
    item_code = models.CharField(max_length=50, blank=True)
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(
        max_digits=14, decimal_places=3, validators=[MinValueValidator(Decimal(0))]
    )
    unit_price = models.DecimalField(
        max_digits=14, decimal_places=4, validators=[MinValueValidator(Decimal(0))]
    )

    class Meta:
        ordering = ["purchase_order", "id"]
        verbose_name = "purchase order line"
        constraints = [
            models.UniqueConstraint(
                fields=["purchase_order", "line_number"], name="po_line_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.purchase_order_id} line {self.line_number}: {self.description}"


class GoodsReceipt(models.Model):
    """A quantity of one PO line received; `reference` is the receipt's number."""

    reference = models.CharField(max_length=50)
    line = models.ForeignKey(
        PurchaseOrderLine, on_delete=models.CASCADE, related_name="receipts"
    )
    quantity_received = models.DecimalField(
        max_digits=14, decimal_places=3, validators=[MinValueValidator(Decimal(0))]
    )
    received_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_on", "reference"]
        constraints = [
            models.UniqueConstraint(
                fields=["reference", "line"], name="goods_receipt_unique_per_line"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.quantity_received} of {self.line}"
