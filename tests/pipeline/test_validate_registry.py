"""The rule registry: rules per document type, switched on and off by code."""

from __future__ import annotations

import pytest

from pipeline.registry import RuleRegistry, validate, validation_rules
from pipeline.validate.types import InvoiceData, Issue, ValidationContext
from tests.pipeline.validation_data import (
    NORDLICHT,
    OTHER_DE_IBAN,
    context,
    harbor_invoice,
    nordlicht_invoice,
)


def test_a_clean_invoice_passes_every_rule_and_names_its_vendor() -> None:
    result = validate(nordlicht_invoice(), context())
    assert result.issues == ()
    assert result.vendor_match is not None
    assert result.vendor_match.vendor_id == NORDLICHT.id
    assert "bank_details_unchanged" in result.rules_run
    assert validate(harbor_invoice(), context()).issues == ()


def test_every_issue_carries_the_code_of_the_rule_that_found_it() -> None:
    invoice = nordlicht_invoice(iban=OTHER_DE_IBAN, due_date="2026-10-01")
    result = validate(invoice, context())
    assert [(i.rule, i.code) for i in result.issues] == [
        ("due_date_not_before_invoice_date", "due_before_invoice_date"),
        ("bank_details_unchanged", "bank_details_changed"),
    ]
    assert result.needs_supervisor
    assert len(result.errors) == 2 and result.warnings == ()


def test_rules_are_chosen_by_document_type() -> None:
    receipt_rules = {spec.code for spec in validation_rules.for_type("receipt")}
    invoice_rules = {spec.code for spec in validation_rules.for_type("invoice")}
    assert "two_way_match" in invoice_rules - receipt_rules
    assert "vendor_known" not in receipt_rules
    assert {"required_fields", "totals_add_up", "duplicate_invoice"} <= receipt_rules
    receipt = InvoiceData(
        "receipt",
        {
            "vendor_name": "KEDAI RUNCIT",
            "invoice_date": "2026-10-21",
            "total_amount": "47.30",
        },
    )
    assert validate(receipt, context()).issues == ()


def test_a_switched_off_rule_does_not_run() -> None:
    invoice = nordlicht_invoice(iban=OTHER_DE_IBAN)
    everything_else = {s.code for s in validation_rules.all()} - {
        "bank_details_unchanged"
    }
    result = validate(invoice, context(), enabled=everything_else)
    assert result.issues == ()
    assert "bank_details_unchanged" not in result.rules_run


def test_an_unknown_rule_code_is_refused_not_ignored() -> None:
    with pytest.raises(ValueError, match="unknown validation rules: bank_detail"):
        validate(nordlicht_invoice(), context(), enabled={"bank_detail"})


def test_a_code_registers_once_and_describes_itself() -> None:
    registry = RuleRegistry()

    def always(invoice: InvoiceData, context: ValidationContext) -> list[Issue]:
        """Complains about everything."""
        return [Issue("always", "warning", (), "Always.")]

    registry.register("always", always, document_types=("invoice",))
    with pytest.raises(ValueError, match="registered twice"):
        registry.register("always", always)
    assert registry.all()[0].description == "Complains about everything."
    assert registry.validate(nordlicht_invoice(), context()).issues[0].rule == "always"
    other = InvoiceData("receipt", {})
    assert registry.validate(other, context()).issues == ()


def test_every_default_rule_has_a_one_line_description() -> None:
    for spec in validation_rules.all():
        assert spec.description and not spec.description.endswith(":"), spec.code


def test_every_rule_has_a_plain_title_and_an_old_code_reads_as_words() -> None:
    for spec in validation_rules.all():
        assert spec.title and spec.title != spec.code, spec.code
        assert validation_rules.title(spec.code) == spec.title
    assert validation_rules.title("bank_details_unchanged") == "Bank details changed"
    # Results stored before a rule was removed still name it.
    assert validation_rules.title("retired_rule") == "Retired rule"
