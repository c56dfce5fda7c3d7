from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pipeline.extract.normalize import (
    currency_marks,
    find_amounts,
    find_dates,
    iban_is_valid,
    normalize_amount,
    normalize_bic,
    normalize_date,
    normalize_iban,
    normalize_vat_id,
    parse_amount,
    vat_id_is_checkable,
    vat_id_is_valid,
)


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("33.90", "33.90"),
        ("1,234.56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("1 234,56", "1234.56"),
        ("1\u202f234,56", "1234.56"),
        ("1'234.50", "1234.50"),
        ("1.234.567,89", "1234567.89"),
        ("RM 33.90", "33.90"),
        ("RM33.90", "33.90"),
        ("$5,625.00", "5625.00"),
        ("EUR 12,5", "12.50"),
        ("1,234", "1234.00"),
        ("42", "42.00"),
        (".02", "0.02"),
        ("0.125", "0.13"),
    ],
)
def test_it_normalises_amounts_in_either_separator_convention(
    printed: str, expected: str
) -> None:
    assert normalize_amount(printed) == expected


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("-8,79", "-8.79"),
        ("8.79-", "-8.79"),
        ("(12.00)", "-12.00"),
        ("-RM 0.02", "-0.02"),
    ],
)
def test_it_reads_negative_amounts(printed: str, expected: str) -> None:
    assert normalize_amount(printed) == expected


@pytest.mark.parametrize("garbage", ["", "abc", "12.3.4", "12,34.5", "1.2.3,4", "RM"])
def test_it_rejects_text_that_is_not_one_amount(garbage: str) -> None:
    assert parse_amount(garbage) is None


def test_it_finds_amounts_in_a_line_but_not_codes_rates_or_unit_prices() -> None:
    text = "TOTAL INCL. GST@6% RM 8.60 SH01 @ 2.20 48MM 3.12S"
    assert [str(a.value) for a in find_amounts(text)] == ["8.60", "3.12"]


def test_it_keeps_the_sign_of_found_amounts() -> None:
    (amount,) = find_amounts("ROUNDING ADJUSTMENT -RM 0.02")
    assert amount.value == Decimal("-0.02")


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("15/01/2018", "2018-01-15"),
        ("12-01-19", "2019-01-12"),
        ("2019-01-12", "2019-01-12"),
        ("16.09.2019", "2019-09-16"),
        ("9/3/2018", "2018-03-09"),
        ("12 Mar 2018", "2018-03-12"),
        ("12-MAR-18", "2018-03-12"),
        ("12Mar2018", "2018-03-12"),
        ("March 12, 2018", "2018-03-12"),
        ("16. September 2019", "2019-09-16"),
        ("1er mars 2020", "2020-03-01"),
        ("12 Mei 2019", "2019-05-12"),
        ("DATE : 15/01/2018 11:40", "2018-01-15"),
    ],
)
def test_it_normalises_printed_dates_to_iso_day_first(
    printed: str, expected: str
) -> None:
    assert normalize_date(printed) == expected


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        # OCR glues the time onto the year.
        ("12Mar201818:19", "2018-03-12"),
        ("12-01-1921:13", "2019-01-12"),
        ("DATE:13/03/201703:00:42PM", "2017-03-13"),
        ("Date:07/04/2018-18.10:59", "2018-04-07"),
        # ... and a till's counter before the day.
        ("#001-001-0934-000105/01/201813:30-R", "2018-01-05"),
        # A hyphen read as a tilde.
        ("05~05-17", "2017-05-05"),
    ],
)
def test_it_reads_dates_ocr_glued_or_misread_in_known_ways(
    printed: str, expected: str
) -> None:
    assert normalize_date(printed) == expected


def test_it_reads_ambiguous_dates_month_first_only_when_asked() -> None:
    assert normalize_date("03/04/2019") == "2019-04-03"
    assert normalize_date("03/04/2019", day_first=False) == "2019-03-04"
    (found,) = find_dates("03/04/2019")
    assert found.ambiguous


def test_a_date_that_reads_only_one_way_ignores_the_preference() -> None:
    assert normalize_date("12/25/2018", day_first=True) == "2018-12-25"
    assert normalize_date("25/12/2018", day_first=False) == "2018-12-25"


@pytest.mark.parametrize(
    "garbage",
    [
        "31/02/2019",  # no such day
        "01/01/1985",  # before 1990
        "01/01/2150",  # after 2100
        "12/13/14/15",
        "000105/01/2018",  # digits before a date without a time after it
        "0934-000105/01/20",
        "9557031100236",
        "12 ITEMS 2018",
        "TOTAL QTY 1 19",
        "12/01/20190",
    ],
)
def test_it_rejects_impossible_or_implausible_dates(garbage: str) -> None:
    assert normalize_date(garbage) is None


def test_find_dates_reports_span_and_pattern() -> None:
    text = "INVOICE DATE: 16.09.2019"
    (found,) = find_dates(text)
    assert found.value == date(2019, 9, 16)
    assert text[found.start : found.end] == "16.09.2019"
    assert found.pattern == "dd.mm.yyyy"


@pytest.mark.parametrize(
    ("text", "code", "explicit"),
    [
        ("TOTAL RM 33.90", "MYR", False),
        ("Amount MYR 10", "MYR", True),
        ("Total $5.00", "USD", False),
        ("US$ 5", "USD", True),
        ("S$ 12.00", "SGD", True),
        ("€ 12,00", "EUR", True),
        ("12.00 EUR", "EUR", True),
        ("£3.20", "GBP", True),
        ("CHF 40.00", "CHF", True),
    ],
)
def test_it_recognises_currency_marks(text: str, code: str, explicit: bool) -> None:
    assert (code, explicit) in currency_marks(text)


def test_it_sees_no_currency_in_words_that_merely_contain_the_letters() -> None:
    assert currency_marks("TERM 12 FORMAT CHEURO") == []


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
        ("de89-3704-0044-0532-0130-00", "DE89370400440532013000"),
        ("FR20 1242 1242 1242 1242 1242 124", "FR2012421242124212421242124"),
    ],
)
def test_it_compacts_and_validates_ibans(printed: str, expected: str) -> None:
    assert normalize_iban(printed) == expected
    assert iban_is_valid(printed)


def test_an_iban_with_wrong_check_digits_keeps_its_shape_but_is_invalid() -> None:
    # One digit changed from a valid IBAN: the ISO 7064 check catches it.
    assert normalize_iban("DE89 3704 0044 0532 0130 01") == "DE89370400440532013001"
    assert not iban_is_valid("DE89 3704 0044 0532 0130 01")
    assert normalize_iban("Invoice 2024-001") is None


def test_an_order_id_shaped_like_an_iban_is_none() -> None:
    """ "Order ID: OD304175096047380001": no country issues IBANs under OD."""
    assert normalize_iban("OD304175096047380001") is None


def test_it_reads_bics_with_a_known_country_only() -> None:
    assert normalize_bic("COBA DE FF XXX") == "COBADEFFXXX"
    assert normalize_bic("GENODEF1M04") == "GENODEF1M04"
    assert normalize_bic("COBAQQFF") is None  # no such country
    assert normalize_bic("INVOICE") is None


@pytest.mark.parametrize(
    ("printed", "valid"),
    [
        ("DE 136 695 976", True),
        ("FR 86 792377731", True),
        ("ATU13585627", True),
        ("DE123456789", False),  # the specimen number on many sample invoices
        ("GB123456789", False),
    ],
)
def test_it_checks_vat_ids_by_the_rule_of_their_country(
    printed: str, valid: bool
) -> None:
    compact = normalize_vat_id(printed)
    assert compact == printed.replace(" ", "")
    assert vat_id_is_valid(printed) is valid
    assert vat_id_is_checkable(printed)


def test_a_vat_id_of_a_country_without_a_rule_is_not_checkable() -> None:
    assert normalize_vat_id("XX123456789") == "XX123456789"
    assert not vat_id_is_checkable("XX123456789")
    assert not vat_id_is_valid("XX123456789")
    assert normalize_vat_id("12345") is None


@pytest.mark.parametrize("word", ["ABWEICHENDER", "LEISTUNGSEMPF", "DEUTSCHLAND1"])
def test_a_word_after_a_vat_label_is_not_a_vat_id(word: str) -> None:
    """Every EU VAT number holds at least seven digits; the word under a VAT
    label ("Abweichender Zahlungsempfänger") is not one."""
    assert normalize_vat_id(word) is None
    assert normalize_vat_id("IE1234567WA") == "IE1234567WA"
