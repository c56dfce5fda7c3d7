from __future__ import annotations

import pytest

from reviewapp.extraction_fields import (
    FIELD_KINDS,
    FIELD_LABELS,
    NORMALISERS,
    InvalidValue,
    auto_accept_thresholds,
    normalise_human_value,
)


def test_every_field_has_a_label_a_kind_a_normaliser_and_a_threshold() -> None:
    assert set(FIELD_LABELS) == set(FIELD_KINDS) == set(NORMALISERS)
    thresholds = auto_accept_thresholds()
    assert set(thresholds) == set(FIELD_LABELS)
    assert all(0 < t <= 1 for t in thresholds.values())


@pytest.mark.parametrize(
    ("name", "typed", "stored"),
    [
        ("iban", "de89 3704 0044 0532 0130 00", "DE89370400440532013000"),
        ("bic", "coba de ff xxx", "COBADEFFXXX"),
        ("vendor_vat_id", "DE 136 695 976", "DE136695976"),
        # No VAT rule for this prefix in python-stdnum: taken as typed.
        ("vendor_vat_id", "xx 1234 5678", "XX12345678"),
        ("due_date", "3 Oct 2018", "2018-10-03"),
        ("subtotal_amount", "1.234,50", "1234.50"),
    ],
)
def test_typed_values_are_stored_in_the_machine_form(
    name: str, typed: str, stored: str
) -> None:
    assert normalise_human_value(name, typed) == stored


@pytest.mark.parametrize(
    ("name", "typed", "message"),
    [
        ("iban", "DE89 3704 0044 0532 0130 01", "check sum does not match"),
        ("vendor_vat_id", "DE123456789", "check sum does not match"),
        ("bic", "not a bic", "8 or 11 characters"),
    ],
)
def test_a_mistyped_identifier_is_refused_with_a_message(
    name: str, typed: str, message: str
) -> None:
    with pytest.raises(InvalidValue, match=message):
        normalise_human_value(name, typed)
