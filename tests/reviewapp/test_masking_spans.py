"""Only the sensitive value is masked, never the text around it, and only what
really is one: an IBAN passing its checksum, a VAT id passing its country's
check, or the value of a field marked sensitive."""

from __future__ import annotations

import pytest

from reviewapp.masking import (
    SecretSet,
    is_real_secret,
    mask_text,
    secret_boxes,
    secret_word_indexes,
)

DUVAL = SecretSet.of(
    [("iban", "FR7630006000011234567890189"), ("vendor_vat_id", "FR40303265045")]
)


def test_a_line_keeps_its_words_around_the_iban() -> None:
    line = "Paiement a 30 jours - IBAN FR76 3000 6000 0112 3456 7890 189"
    assert mask_text(line, DUVAL) == (
        "Paiement a 30 jours - IBAN FR76 •••• •••• •••• •••• •••0 189"
    )


def test_an_address_that_swallowed_the_vat_id_keeps_the_address() -> None:
    value = "18 rue des Tanneurs, 69002 Lyon TVA FR40303265045"
    assert mask_text(value, DUVAL) == (
        "18 rue des Tanneurs, 69002 Lyon TVA FR4•••••••045"
    )


def test_an_unknown_but_valid_iban_or_vat_id_is_masked_by_its_shape() -> None:
    nothing_known = SecretSet()
    assert "3704" not in mask_text("IBAN DE89 3704 0044 0532 0130 00", nothing_known)
    assert mask_text("USt-IdNr. DE811907980", nothing_known) == "USt-IdNr. DE•••••••80"


@pytest.mark.parametrize(
    "text",
    [
        "Receipt OR18 1234 5678 0432",  # IBAN-shaped, no such country
        "DE89 3704 0044 0532 0130 01",  # one digit off: the checksum fails
        "Invoice CS00021873 of 21/10/2026",
        "Tax ID 91-1234567",
    ],
)
def test_what_only_looks_like_a_secret_stays_readable(text: str) -> None:
    assert mask_text(text, SecretSet()) == text


def test_a_misread_iban_field_value_is_not_hunted_elsewhere() -> None:
    misread = SecretSet.of([("iban", "OR18 1234 5678 0432")])
    assert not is_real_secret("iban", "OR18 1234 5678 0432")
    assert mask_text("Invoice# OR18 1234 5678 0432", misread) == (
        "Invoice# OR18 1234 5678 0432"
    )


def test_a_message_naming_the_field_masks_its_value_even_when_invalid() -> None:
    message = "The vendor VAT id DE123456789 is not valid: its check digits fail."
    named = SecretSet().with_values(["DE123456789"])
    assert mask_text(message, named) == (
        "The vendor VAT id DE•••••••89 is not valid: its check digits fail."
    )


def test_only_the_value_words_of_a_line_are_boxed() -> None:
    line = "Paiement a 30 jours - IBAN FR76 3000 6000 0112 3456 7890 189"
    assert secret_word_indexes(line, DUVAL) == set(range(6, 13))
    boxes = secret_boxes(line, (0, 10, 600, 40), DUVAL)
    assert len(boxes) == 7
    # "IBAN" (word 5) ends before the first masked box starts.
    per_character = 600 / len(line)
    assert boxes[0][0] > line.index("IBAN") * per_character + 3 * per_character
    assert all(box[1] == 10 and box[3] == 40 for box in boxes)
