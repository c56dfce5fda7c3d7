"""Sensitive values are masked for everyone in HTML, JSON, websocket payloads
and page images, until someone allowed reveals one with a reason."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from PIL import Image, ImageStat

from pipeline.ocr.recorded import RecordedOcrEngine
from reviewapp.masking import mask_value
from reviewapp.models.configuration import SensitiveField
from reviewapp.models.documents import Document
from reviewapp.models.fields import Field
from reviewapp.models.review import SensitiveReveal
from reviewapp.selectors.documents import document_as_json, status_payload
from tests.conftest import logged_in, processed_upload, recorded_line, text_image

pytestmark = pytest.mark.django_db

IBAN = "DE89 3704 0044 0532 0130 00"
IBAN_BOX = (40, 226, 660, 268)  # where text_image draws line 4
COMPACT_IBAN = IBAN.replace(" ", "")


@pytest.fixture
def with_iban(
    clerk: User, media_root: Path, recorded_ocr: type[RecordedOcrEngine]
) -> Document:
    """A read invoice whose page shows an IBAN, with the iban field boxed."""
    recorded_ocr.record(
        800,
        600,
        (
            recorded_line("ACME GMBH", (40, 40, 300, 80)),
            recorded_line("Total EUR 120,50", (40, 100, 420, 130)),
            recorded_line(f"IBAN {IBAN}", IBAN_BOX),
        ),
    )
    content = text_image(["ACME GMBH", "Total EUR 120,50", "", "", f"IBAN {IBAN}"])
    document = processed_upload(content, name="bank.png", uploaded_by=clerk)
    page = document.pages.get(number=1)
    # The extractor reads this IBAN too; pin its box and wording for the tests.
    Field.objects.update_or_create(
        document=document, name="iban", defaults=dict(
            value=IBAN, raw_value=IBAN, machine_value=IBAN, confidence=0.97,
            machine_confidence=0.97, page=page,
            box=[IBAN_BOX[0] + 70, IBAN_BOX[1], IBAN_BOX[2], IBAN_BOX[3]],
            explanation=f"read '{IBAN}' after the label IBAN",
        ),
    )  # fmt: skip
    document.refresh_from_db()
    return document


def no_clear_iban(text: str) -> bool:
    return IBAN not in text and COMPACT_IBAN not in text.replace(" ", "")


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        (IBAN, "DE89 •••• •••• •••• ••30 00"),
        ("COBADEFFXXX", "CO•••••••XX"),
        ("DE123456789", "DE•••••••89"),
        ("1234", "1••4"),
        ("", ""),
    ],
)
def test_mask_value_keeps_a_little_at_each_end(value: str, masked: str) -> None:
    assert mask_value(value) == masked


def test_the_defaults_are_sensitive() -> None:
    names = set(SensitiveField.objects.values_list("name", flat=True))
    assert {"iban", "bic", "bank_account", "vendor_vat_id"} <= names


@pytest.mark.parametrize("persona", ["clerk", "supervisor", "admin_user"])
def test_the_review_page_never_shows_the_clear_iban(
    request: pytest.FixtureRequest, with_iban: Document, persona: str
) -> None:
    user = request.getfixturevalue(persona)
    html = (
        logged_in(user)
        .get(reverse("document-detail", args=[with_iban.public_id]))
        .content.decode()
    )
    assert no_clear_iban(html)
    assert "DE89 •••• •••• •••• ••30 00" in html
    assert "ACME GMBH" in html  # other text is left alone
    assert ("Reveal…" in html) is (persona != "clerk")


def test_json_answers_are_masked(clerk: User, with_iban: Document) -> None:
    client = logged_in(clerk)
    correct = client.post(
        reverse("field-correct", args=[with_iban.public_id, "iban"]),
        {"value": IBAN.replace(" ", "")},
    )
    assert correct.status_code == 200
    assert correct.json()["value"] == "DE89 •••• •••• •••• ••30 00"
    assert correct.json()["matches_read_value"] is True
    statuses = client.get(reverse("document-statuses") + f"?id={with_iban.public_id}")
    assert no_clear_iban(statuses.content.decode())
    row = client.get(reverse("queue-row", args=["mine", with_iban.public_id]))
    assert no_clear_iban(row.content.decode())


def test_the_served_page_image_has_the_iban_blacked_out(
    clerk: User, with_iban: Document
) -> None:
    served = logged_in(clerk).get(reverse("page-image", args=[with_iban.public_id, 1]))
    assert served["Content-Type"] == "image/jpeg"
    served_image = Image.open(io.BytesIO(served.content)).convert("L")
    stored = Image.open(with_iban.pages.get().image.open("rb")).convert("L")
    # The value's own words, after the label "IBAN ".
    region = (IBAN_BOX[0] + 110, IBAN_BOX[1] + 6, IBAN_BOX[2] - 20, IBAN_BOX[3] - 6)
    # The stored page shows the IBAN: dark text on white...
    assert ImageStat.Stat(stored.crop(region)).extrema[0][0] < 100
    assert ImageStat.Stat(stored.crop(region)).mean[0] > 150
    # ...the served one a black bar.
    assert ImageStat.Stat(served_image.crop(region)).mean[0] < 10
    # Only the value's words: its label beside it stays readable.
    label = (IBAN_BOX[0] + 2, IBAN_BOX[1] + 6, IBAN_BOX[0] + 60, IBAN_BOX[3] - 6)
    assert ImageStat.Stat(served_image.crop(label)).mean[0] > 150
    # Away from the IBAN the page is the same.
    elsewhere = (40, 40, 300, 80)
    assert (
        abs(
            ImageStat.Stat(served_image.crop(elsewhere)).mean[0]
            - ImageStat.Stat(stored.crop(elsewhere)).mean[0]
        )
        < 5
    )


def test_a_clerk_cannot_reveal(clerk: User, with_iban: Document) -> None:
    url = reverse("field-reveal", args=[with_iban.public_id, "iban"])
    response = logged_in(clerk).post(url, {"reason": "curious"})
    assert response.status_code == 403
    assert no_clear_iban(response.content.decode())
    assert not SensitiveReveal.objects.exists()


def test_a_supervisor_reveals_with_a_reason_and_it_is_recorded(
    supervisor: User, with_iban: Document
) -> None:
    url = reverse("field-reveal", args=[with_iban.public_id, "iban"])
    client = logged_in(supervisor)
    assert client.get(url).status_code == 405
    refused = client.post(url, {"reason": "  "})
    assert refused.status_code == 400
    assert "Say why" in refused.json()["error"]
    assert not SensitiveReveal.objects.exists()

    response = client.post(url, {"reason": "vendor called about a bank change"})
    assert response.status_code == 200
    assert response.json() == {"name": "iban", "value": IBAN}
    assert response["Cache-Control"] == "no-store"
    reveal = SensitiveReveal.objects.get()
    assert (reveal.user, reveal.document, reveal.field_name, reveal.reason) == (
        supervisor,
        with_iban,
        "iban",
        "vendor called about a bank change",
    )
    # The reveal is for that answer only: the page stays masked.
    page = client.get(reverse("document-detail", args=[with_iban.public_id]))
    assert no_clear_iban(page.content.decode())


def test_an_admin_can_make_a_field_ordinary_again(
    clerk: User, with_iban: Document
) -> None:
    SensitiveField.objects.filter(name="iban").delete()
    html = (
        logged_in(clerk)
        .get(reverse("document-detail", args=[with_iban.public_id]))
        .content.decode()
    )
    assert IBAN in html


def test_the_websocket_payload_carries_no_field_values(with_iban: Document) -> None:
    payload = status_payload(with_iban)
    assert no_clear_iban(repr(payload))
    assert "fields" not in payload


def test_admins_change_the_list_in_django_admin(admin_user: User) -> None:
    admin_user.is_staff = True
    admin_user.save()
    client = logged_in(admin_user)
    add = reverse("admin:reviewapp_sensitivefield_add")
    form = client.get(add).content.decode()
    assert '<option value="vendor_name">' in form
    assert client.post(add, {"name": "vendor_name"}).status_code == 302
    assert SensitiveField.objects.filter(name="vendor_name").exists()
    refused = client.post(add, {"name": "anything_else"})
    assert refused.status_code == 200  # the form again, with the error
    assert not SensitiveField.objects.filter(name="anything_else").exists()
    reveals = client.get(reverse("admin:reviewapp_sensitivereveal_changelist"))
    assert reveals.status_code == 200


def test_a_clerk_confirms_a_masked_value_without_seeing_it(
    clerk: User, with_iban: Document
) -> None:
    url = reverse("field-correct", args=[with_iban.public_id, "iban"])
    different = logged_in(clerk).post(url, {"value": "DE44 5001 0517 5407 3249 31"})
    answer = different.json()
    assert {key: answer[key] for key in ("name", "value", "set_by")} == {
        "name": "iban",
        "value": "DE44 •••• •••• •••• ••49 31",
        "set_by": "human",
    }
    assert answer["matches_read_value"] is False
    assert no_clear_iban(different.content.decode())


def test_a_masked_value_is_confirmed_without_being_shown(
    clerk: User, with_iban: Document
) -> None:
    url = reverse("field-confirm", args=[with_iban.public_id, "iban"])
    response = logged_in(clerk).post(url)
    assert response.json() == {
        "name": "iban",
        "value": "DE89 •••• •••• •••• ••30 00",
        "set_by": "human",
    }
    assert with_iban.fields.get(name="iban").set_by == "human"


def test_the_ingest_json_masks_sensitive_values_unless_asked(
    with_iban: Document,
) -> None:

    masked = json.dumps(document_as_json(with_iban))
    clear = document_as_json(with_iban, show_sensitive=True)

    assert no_clear_iban(masked)
    assert clear["fields"]["iban"]["value"] == IBAN
