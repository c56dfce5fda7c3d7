"""IBAN checksum and country; VAT id format and check digits per country."""

from __future__ import annotations

from pipeline.validate.identifiers import (
    bic_valid,
    check_iban,
    check_vat_id,
    iban_valid,
    vat_id_valid,
)
from tests.pipeline.validation_data import (
    NORDLICHT_IBAN,
    codes,
    context,
    nordlicht_invoice,
)


def test_a_valid_iban_passes_with_or_without_spaces() -> None:
    check = check_iban("de89 3704 0044 0532 0130 00")
    assert (check.valid, check.compact, check.country) == (True, NORDLICHT_IBAN, "DE")
    assert iban_valid(nordlicht_invoice(), context()) == []


def test_one_misread_digit_breaks_the_iban_checksum() -> None:
    invoice = nordlicht_invoice(iban="DE89370400440532013001")
    [issue] = iban_valid(invoice, context())
    assert (issue.code, issue.severity, issue.fields) == (
        "iban_invalid",
        "error",
        ("iban",),
    )
    assert issue.message == (
        "The IBAN DE…3001 is not valid: its check digits do not match "
        "(a misread character?)."
    )
    assert NORDLICHT_IBAN not in issue.message


def test_iban_length_and_country_are_checked() -> None:
    assert "wrong length" in check_iban("DE8937040044053201300").problem
    assert "no IBAN country" in check_iban("XX89370400440532013000").problem


def test_an_iban_from_another_country_than_the_vendor_is_a_warning() -> None:
    french = "FR1420041010050500013M02606"
    [issue] = iban_valid(nordlicht_invoice(iban=french), context())
    assert (issue.code, issue.severity) == ("iban_country_mismatch", "warning")
    assert "held in FR" in issue.message and "registered in DE" in issue.message


def test_valid_vat_ids_of_several_countries_pass() -> None:
    for vat_id in ("DE811907980", "DE 811 907 980", "FR40303265045", "GB980780684"):
        assert check_vat_id(vat_id).valid, vat_id
    assert vat_id_valid(nordlicht_invoice(), context()) == []


def test_wrong_check_digits_and_length_are_reported_in_words() -> None:
    invoice = nordlicht_invoice(vendor_vat_id="DE811907981")
    [issue] = vat_id_valid(invoice, context())
    assert issue.code == "vat_id_invalid"
    assert issue.message == (
        "The vendor VAT id DE811907981 is not valid: its check digits do not "
        "match (a misread character?)."
    )
    assert "wrong length for a DE VAT id" in check_vat_id("DE81190798").problem
    assert check_vat_id("FR4030326504X").problem


def test_greek_vat_ids_use_the_el_prefix() -> None:
    check = check_vat_id("EL094259216")
    assert (check.valid, check.country) == (True, "GR")


def test_an_id_without_prefix_is_checked_for_the_vendors_country() -> None:
    assert check_vat_id("811907981", default_country="DE").problem
    invoice = nordlicht_invoice(vendor_vat_id="811907981")
    # Matched by IBAN to Nordlicht, whose country is DE.
    assert codes(vat_id_valid(invoice, context())) == ["vat_id_invalid"]


def test_an_id_of_a_country_without_vat_check_passes_unchecked() -> None:
    check = check_vat_id("91-1234567")
    assert (check.valid, check.country) == (True, "")


def test_a_valid_bic_of_the_ibans_country_passes() -> None:
    assert bic_valid(nordlicht_invoice(), context()) == []
    assert bic_valid(nordlicht_invoice(bic="COBA DE FF"), context()) == []


def test_a_misread_bic_is_an_error() -> None:
    [issue] = bic_valid(nordlicht_invoice(bic="COBADEF"), context())
    assert (issue.code, issue.severity) == ("bic_invalid", "error")
    assert issue.message == (
        "The BIC COBADEF is not valid: it has 7 characters; a BIC has 8 or 11."
    )
    [issue] = bic_valid(nordlicht_invoice(bic="COBAXXFFXXX"), context())
    assert "“XX” in it is no country" in issue.message


def test_a_bic_of_another_country_than_the_iban_is_a_warning() -> None:
    [issue] = bic_valid(nordlicht_invoice(bic="BNPAFRPPXXX"), context())
    assert (issue.code, issue.severity) == ("bic_iban_country_mismatch", "warning")
    assert issue.message == (
        "The BIC BNPAFRPPXXX is of a bank in FR, but the IBAN DE…3000 is held in DE."
    )
