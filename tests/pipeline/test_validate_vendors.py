"""Vendor matching (exact, then fuzzy with a confidence) and currency."""

from __future__ import annotations

from dataclasses import replace

from pipeline.validate.types import InvoiceData, ValidationContext, VendorRecord
from pipeline.validate.vendors import (
    currency_expected,
    due_date_within_terms,
    match_vendor,
    normalise_name,
    vendor_known,
)
from tests.pipeline.validation_data import (
    DUVAL,
    HARBOR,
    NORDLICHT,
    OTHER_DE_IBAN,
    TODAY,
    codes,
    context,
    harbor_invoice,
    nordlicht_invoice,
)


def test_a_vat_id_match_is_exact_and_certain() -> None:
    invoice = nordlicht_invoice(vendor_name="Totally different name")
    match = match_vendor(invoice, context())
    assert match is not None
    assert (match.vendor_id, match.method, match.confidence) == (
        NORDLICHT.id,
        "vat_id",
        1.0,
    )


def test_an_iban_match_is_exact_when_no_vat_id_is_printed() -> None:
    invoice = nordlicht_invoice(vendor_vat_id="", vendor_name="Nordlicht Hamburg")
    match = match_vendor(invoice, context())
    assert match is not None and (match.vendor_id, match.method) == (
        NORDLICHT.id,
        "iban",
    )


def test_name_and_address_match_fuzzily_despite_legal_form_and_spelling() -> None:
    invoice = InvoiceData(
        "invoice",
        {
            "vendor_name": "ATELIER DUVALL S.A.R.L.",
            "vendor_address": "18 rue des Tanneurs 69002 LYON",
        },
    )
    match = match_vendor(invoice, context())
    assert match is not None
    assert (match.vendor_id, match.method) == (DUVAL.id, "name")
    assert 0.8 <= match.confidence < 1.0


def test_a_vendor_found_by_an_alias() -> None:
    invoice = InvoiceData("invoice", {"vendor_name": "Nordlicht Buerobedarf"})
    match = match_vendor(invoice, context())
    assert match is not None and match.vendor_id == NORDLICHT.id
    assert match.confidence == 1.0


def test_a_confirmed_vendor_wins_over_guessing() -> None:
    invoice = replace(nordlicht_invoice(), confirmed_vendor_id=DUVAL.id)
    match = match_vendor(invoice, context())
    assert match is not None and (match.vendor_id, match.method) == (
        DUVAL.id,
        "confirmed",
    )


def test_legal_forms_and_punctuation_do_not_count() -> None:
    assert normalise_name("Harbor Supply Co. Inc.") == "harbor supply"
    assert normalise_name("KEDAI RUNCIT MAJU JAYA SDN BHD") == "kedai runcit maju jaya"


def test_an_unknown_vendor_is_an_error() -> None:
    invoice = InvoiceData(
        "invoice", {"vendor_name": "Globex Industrial Ltd", "iban": OTHER_DE_IBAN}
    )
    assert match_vendor(invoice, context()) is None
    [issue] = vendor_known(invoice, context())
    assert (issue.code, issue.severity) == ("vendor_unknown", "error")
    assert "“Globex Industrial Ltd” matches no vendor" in issue.message
    assert vendor_known(nordlicht_invoice(), context()) == []


def test_an_empty_vendor_master_knows_nobody() -> None:
    empty = ValidationContext(today=TODAY)
    assert codes(vendor_known(nordlicht_invoice(), empty)) == ["vendor_unknown"]


def test_a_name_only_match_below_the_sure_score_asks_for_confirmation() -> None:
    invoice = InvoiceData("invoice", {"vendor_name": "Harbour Supplies"})
    [issue] = vendor_known(invoice, context())
    assert (issue.code, issue.severity) == ("vendor_uncertain", "warning")
    assert "matched to Harbor Supply Co. Inc. by name only" in issue.message
    assert 0.8 <= issue.details["confidence"] < 0.95


def test_an_inactive_vendor_is_an_error() -> None:
    retired = replace(NORDLICHT, active=False)
    ctx = context(vendors=(retired, HARBOR, DUVAL))
    assert codes(vendor_known(nordlicht_invoice(), ctx)) == ["vendor_inactive"]


def test_the_invoice_currency_must_be_the_purchase_orders() -> None:
    assert currency_expected(harbor_invoice(), context()) == []
    [issue] = currency_expected(harbor_invoice(currency="EUR"), context())
    assert (issue.code, issue.severity) == ("currency_differs_from_po", "error")
    assert (
        issue.message == "The invoice is in EUR, but purchase order PO-55120 is in USD."
    )


def test_without_a_po_a_currency_other_than_the_vendors_is_a_warning() -> None:
    assert currency_expected(nordlicht_invoice(), context()) == []
    [issue] = currency_expected(nordlicht_invoice(currency="GBP"), context())
    assert (issue.code, issue.severity) == ("currency_differs_from_vendor", "warning")
    assert "normally bills in EUR" in issue.message


def test_two_vendors_with_the_same_name_make_the_match_uncertain() -> None:
    acme_de = VendorRecord(id="v-acme-de", name="ACME GmbH", country="DE")
    acme_uk = VendorRecord(id="v-acme-uk", name="ACME Ltd", country="GB")
    ctx = context(vendors=(acme_de, acme_uk))
    invoice = InvoiceData("invoice", {"vendor_name": "ACME"})
    match = match_vendor(invoice, ctx)
    assert match is not None and match.confidence == 0.94
    assert codes(vendor_known(invoice, ctx)) == ["vendor_uncertain"]
    # Alone on the master, the same name is a sure match.
    only = context(vendors=(acme_de,))
    assert vendor_known(invoice, only) == []


def test_names_ocr_glued_together_still_match() -> None:
    # As PaddleOCR read the demo documents' capitalised vendor lines.
    for printed, vendor in (
        ("NORDLICHTBUEROBEDARFGMBH", NORDLICHT),
        ("NORDLICHT BÜROBEDARF", NORDLICHT),
        ("ATELIERDUVALSARL", DUVAL),
        ("HarborSupplyCo.Inc.", HARBOR),
    ):
        invoice = InvoiceData("invoice", {"vendor_name": printed})
        match = match_vendor(invoice, context())
        assert match is not None and match.vendor_id == vendor.id, printed
        assert match.confidence == 1.0, printed


def test_accents_and_umlauts_fold_to_ascii() -> None:
    assert normalise_name("Nordlicht Bürobedarf GmbH") == "nordlicht buerobedarf"
    assert normalise_name("Frères Lumière S.A.R.L.") == "freres lumiere"


def test_a_due_date_shorter_than_the_agreed_terms_is_a_warning() -> None:
    assert due_date_within_terms(nordlicht_invoice(), context()) == []  # 30 days
    rushed = nordlicht_invoice(due_date="2026-11-10")
    [issue] = due_date_within_terms(rushed, context())
    assert (issue.code, issue.severity) == ("due_date_before_terms", "warning")
    assert issue.message == (
        "The invoice asks for payment within 7 days, but Nordlicht Bürobedarf "
        "GmbH's agreed terms are 30 days."
    )
    # Harbor has no terms on file; a due date before the invoice is another rule.
    assert due_date_within_terms(harbor_invoice(due_date="2026-11-05"), context()) == []
    backwards = nordlicht_invoice(due_date="2026-10-01")
    assert due_date_within_terms(backwards, context()) == []
