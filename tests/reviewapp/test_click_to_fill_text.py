"""What clicking a line on the review page fills a field with: a name or an
address with the spacing the pipeline restores, anything else as printed;
sensitive values masked either way."""

from __future__ import annotations

import html
import re
from pathlib import Path

from django.contrib.auth.models import User

from reviewapp.ocr_evidence import respaced
from tests.conftest import logged_in, processed_upload, recorded_text_image


def test_a_glued_name_or_address_is_offered_respaced() -> None:
    assert respaced("KEDAIRUNCITMAJU") == "KEDAI RUNCIT MAJU"
    assert respaced("JALANBESAR 81200JOHOR") == "JALAN BESAR 81200 JOHOR"
    assert respaced("NO.3,JALAN  PERMAS") == "NO.3, JALAN PERMAS"
    # A code keeps its letters and digits together.
    assert respaced("Invoice No: INV1001") == "Invoice No: INV1001"


def test_the_review_page_offers_respaced_lines_to_name_and_address_fields(
    clerk: User, media_root: Path, recorded_ocr: object
) -> None:
    document = processed_upload(
        recorded_text_image(
            ["KEDAIRUNCITMAJU", "JALANBESAR 81200JOHOR", "Invoice No: INV1001",
             "IBAN DE89 3704 0044 0532 0130 00", "Total 12,50"]
        ),
        name="receipt.png",
        uploaded_by=clerk,
    )  # fmt: skip

    page = logged_in(clerk).get(f"/documents/{document.public_id}/").content.decode()

    lines = re.findall(r'data-text="([^"]*)" data-respaced="([^"]*)"', page)
    offered = {html.unescape(text): html.unescape(fill) for text, fill in lines}
    assert offered == {
        "KEDAIRUNCITMAJU": "KEDAI RUNCIT MAJU",
        "JALANBESAR 81200JOHOR": "JALAN BESAR 81200 JOHOR",
    }
    assert "DE89 3704" not in page  # masked on the line, so never offered in clear
    cards = {
        name: tag
        for tag, name in re.findall(r'(<li [^>]*?id="field-(\w+)"[^>]*>)', page)
    }
    respacing = {name for name, tag in cards.items() if 'data-respaced="true"' in tag}
    assert {"vendor_name", "vendor_address"} <= respacing
    assert respacing <= {"vendor_name", "vendor_address", "customer_name"}
    assert "invoice_number" in cards
