"""Explicit registries: engines by dotted path, and validation rules by code.

Engines are expensive to build (PaddleOCR loads three networks), so each dotted
path is instantiated once per process and kept; `reset` is for tests.
Validation rules are plain functions registered below in the order they run,
each for the document types it applies to; `validate` is the entry point.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from pipeline.validate import (
    arithmetic,
    bank_details,
    dates,
    duplicates,
    fields,
    identifiers,
    purchase_orders,
    vendors,
)
from pipeline.validate.types import (
    CREDIT_NOTE,
    INVOICE,
    InvoiceData,
    Issue,
    ValidationContext,
    ValidationResult,
)
from pipeline.validate.vendors import match_vendor

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._instances: dict[str, T] = {}
        self._lock = threading.Lock()

    def get(self, dotted_path: str, **options: Any) -> T:
        """The process-wide instance for "package.module.ClassName".

        Raises ImportError naming the path when it does not lead to a class.
        """
        with self._lock:
            instance = self._instances.get(dotted_path)
            if instance is None:
                instance = self._import(dotted_path)(**options)
                self._instances[dotted_path] = instance
            return instance

    def loaded(self) -> tuple[str, ...]:
        return tuple(self._instances)

    def reset(self) -> None:
        with self._lock:
            self._instances.clear()

    def _import(self, dotted_path: str) -> type[T]:
        module_path, _, class_name = dotted_path.rpartition(".")
        if not module_path:
            raise ImportError(f"{self.kind} {dotted_path!r} is not a dotted path")
        module = importlib.import_module(module_path)
        try:
            found: type[T] = getattr(module, class_name)
        except AttributeError:
            raise ImportError(
                f"{self.kind} {dotted_path!r}: {module_path} has no {class_name}"
            ) from None
        return found


# --- validation rules ----------------------------------------------------------

Rule = Callable[[InvoiceData, ValidationContext], list[Issue]]


@dataclass(frozen=True)
class RuleSpec:
    """A registered rule: its code, the function and the document types it
    applies to (None: every type)."""

    code: str
    check: Rule
    document_types: frozenset[str] | None = None
    # What a person calls the problem when the rule fails, for charts and lists.
    title: str = ""

    @property
    def description(self) -> str:
        """The first paragraph of the rule's docstring, for the admin's list."""
        first = (self.check.__doc__ or self.code).strip().split("\n\n")[0]
        return " ".join(first.split())

    def applies_to(self, document_type: str) -> bool:
        return self.document_types is None or document_type in self.document_types


class RuleRegistry:
    """Validation rules in the order they run, each for some document types.

    Rules are registered explicitly (see `validation_rules` below); which of
    them run is decided per call by `enabled`, so the Django side can let
    admins switch rules off without the pipeline knowing about settings.
    """

    def __init__(self) -> None:
        self._rules: dict[str, RuleSpec] = {}

    def register(
        self,
        code: str,
        check: Rule,
        *,
        document_types: Collection[str] | None = None,
        title: str = "",
    ) -> None:
        """Add a rule; raises ValueError when `code` is taken."""
        if code in self._rules:
            raise ValueError(f"validation rule {code!r} is registered twice")
        types = frozenset(document_types) if document_types is not None else None
        self._rules[code] = RuleSpec(code, check, types, title or code)

    def title(self, code: str) -> str:
        """The rule's plain title; an unknown code (a rule since removed, still
        named by old results) reads as its words."""
        spec = self._rules.get(code)
        return spec.title if spec is not None else code.replace("_", " ").capitalize()

    def all(self) -> tuple[RuleSpec, ...]:
        return tuple(self._rules.values())

    def for_type(self, document_type: str) -> tuple[RuleSpec, ...]:
        return tuple(r for r in self._rules.values() if r.applies_to(document_type))

    def validate(
        self,
        invoice: InvoiceData,
        context: ValidationContext,
        *,
        enabled: Collection[str] | None = None,
    ) -> ValidationResult:
        """Run the rules for the invoice's type (only those in `enabled`, when
        given) and collect their issues, each tagged with its rule's code.

        Raises ValueError naming codes in `enabled` that no rule has, so a
        typo in a setting does not silently switch a check off.
        """
        if enabled is not None:
            unknown = sorted(set(enabled) - set(self._rules))
            if unknown:
                raise ValueError(f"unknown validation rules: {', '.join(unknown)}")
        issues: list[Issue] = []
        ran: list[str] = []
        for spec in self.for_type(invoice.document_type):
            if enabled is not None and spec.code not in enabled:
                continue
            ran.append(spec.code)
            issues += [
                replace(issue, rule=spec.code) for issue in spec.check(invoice, context)
            ]
        return ValidationResult(
            issues=tuple(issues),
            vendor_match=match_vendor(invoice, context),
            rules_run=tuple(ran),
        )


_BILLS = (INVOICE, CREDIT_NOTE)
validation_rules = RuleRegistry()
for _code, _check, _types, _title in (
    ("required_fields", fields.required_fields, None, "Required field missing"),
    ("field_formats", fields.field_formats, None, "Value in the wrong format"),
    ("line_amounts", arithmetic.line_amounts, None, "Line amount wrong"),
    ("lines_sum_to_subtotal", arithmetic.lines_sum_to_subtotal, None,
     "Lines do not add up"),
    ("totals_add_up", arithmetic.totals_add_up, None, "Totals do not add up"),
    ("tax_matches_rates", arithmetic.tax_matches_rates, None, "Tax does not match"),
    ("invoice_date_not_in_future", dates.invoice_date_not_in_future, None,
     "Dated in the future"),
    ("invoice_date_not_too_old", dates.invoice_date_not_too_old, None,
     "Invoice too old"),
    ("due_date_not_before_invoice_date", dates.due_date_not_before_invoice_date,
     None, "Due before issued"),
    ("iban_valid", identifiers.iban_valid, _BILLS, "IBAN not valid"),
    ("bic_valid", identifiers.bic_valid, _BILLS, "BIC not valid"),
    ("vat_id_valid", identifiers.vat_id_valid, _BILLS, "VAT id not valid"),
    ("vendor_known", vendors.vendor_known, _BILLS, "Vendor unknown"),
    ("currency_expected", vendors.currency_expected, _BILLS, "Unexpected currency"),
    ("due_date_within_terms", vendors.due_date_within_terms, _BILLS,
     "Due date outside terms"),
    ("purchase_order_known", purchase_orders.purchase_order_known, (INVOICE,),
     "PO unknown"),
    ("two_way_match", purchase_orders.two_way_match, (INVOICE,),
     "Differs from the PO"),
    ("three_way_match", purchase_orders.three_way_match, (INVOICE,),
     "Differs from goods received"),
    ("duplicate_invoice", duplicates.duplicate_invoice, None, "Possible duplicate"),
    ("bank_details_unchanged", bank_details.bank_details_unchanged, _BILLS,
     "Bank details changed"),
):  # fmt: skip
    validation_rules.register(_code, _check, document_types=_types, title=_title)


def validate(
    invoice: InvoiceData,
    context: ValidationContext,
    *,
    enabled: Collection[str] | None = None,
) -> ValidationResult:
    """Validate `invoice` with the default rule set; see `RuleRegistry.validate`."""
    return validation_rules.validate(invoice, context, enabled=enabled)
