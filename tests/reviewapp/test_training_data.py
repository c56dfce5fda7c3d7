"""Corrections are training data: the review page sends word boxes (never the
text of masked lines), each correction keeps its OCR evidence, and
`export_training` writes it as JSON Lines or PaddleOCR KIE labels, masked
unless an allowed person reveals with a reason."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.urls import reverse
from pytest_django.fixtures import Settings as SettingsWrapper

from pipeline.ocr.recorded import RecordedOcrEngine
from reviewapp.audit.trail import unseal
from reviewapp.learning.training_data import CorrectionEvidence, clear_text
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document
from reviewapp.models.fields import Field
from reviewapp.models.learning import FieldCorrection
from reviewapp.ocr_evidence import Word, in_reading_order, line_words, text_in_box
from reviewapp.services.fields import field_correct
from tests.conftest import logged_in, processed_upload, recorded_line, text_image

pytestmark = pytest.mark.django_db

IBAN = "DE89 3704 0044 0532 0130 00"
NUMBER_LINE = ("Invoice No: INV-1001", (40, 100, 440, 130))
IBAN_LINE = (f"IBAN {IBAN}", (40, 226, 660, 268))
TOTAL_LINE = ("Total EUR 120,50", (40, 400, 420, 430))
# Where "INV-1001" sits in its line: characters 12..20 of 20, so x 280..440.
NUMBER_WORD_BOX = (280, 100, 440, 130)


@pytest.fixture
def invoice(
    clerk: User, media_root: Path, recorded_ocr: type[RecordedOcrEngine]
) -> Document:
    """A read invoice with an invoice number line and an IBAN line; the
    machine read the number wrong (from the date line) and the IBAN right."""
    recorded_ocr.record(
        800,
        600,
        tuple(recorded_line(text, box) for text, box in
              (NUMBER_LINE, ("Date: 16.09.2019", (40, 150, 360, 180)), IBAN_LINE,
               TOTAL_LINE)),
    )  # fmt: skip
    content = text_image(
        ["ACME", "Invoice No: INV-1001", "Date: 16.09.2019", "", f"IBAN {IBAN}"]
    )
    document = processed_upload(content, name="bank.png", uploaded_by=clerk)
    page = document.pages.get(number=1)
    for name, value, box in (
        ("invoice_number", "16.09.2019", [40, 150, 360, 180]),
        ("iban", IBAN, [110, 226, 660, 268]),
    ):
        Field.objects.update_or_create(
            document=document,
            name=name,
            defaults=dict(
                value=value, raw_value=value, machine_value=value, confidence=0.41,
                machine_confidence=0.41, page=page, box=box, set_by="machine",
            ),
        )  # fmt: skip
    document.refresh_from_db()
    return document


def correct(
    user: User, document: Document, name: str, value: str, **evidence: str
) -> dict[str, object]:
    response = logged_in(user).post(
        reverse("field-correct", args=[document.public_id, name]),
        {"value": value, **evidence},
    )
    assert response.status_code == 200, response.content
    return response.json()  # type: ignore[no-any-return]


# --- word boxes and reading order -------------------------------------------------


def test_word_boxes_split_the_line_by_character_positions() -> None:
    words = line_words(*NUMBER_LINE)
    assert [word.text for word in words] == ["Invoice", "No:", "INV-1001"]
    # 400 px for 20 characters: 20 px each.
    assert words[0].box == (40, 100, 180, 130)
    assert words[2].box == NUMBER_WORD_BOX


def test_a_drawn_box_reads_separate_lines_on_one_row_left_to_right() -> None:
    class Line:
        def __init__(self, order: int, text: str, box: tuple[int, ...]) -> None:
            self.order, self.text, self.box = order, text, box

    # OCR often returns a row's cells as separate lines, the right one first.
    lines = [
        Line(0, "19.00", (300, 100, 360, 120)),
        Line(1, "1 X", (200, 102, 260, 122)),
        Line(2, "TOTAL 33.90", (200, 150, 360, 170)),
    ]
    assert text_in_box(lines, (190, 90, 370, 130)) == "1 X 19.00"
    assert text_in_box(lines, (190, 90, 370, 175)) == "1 X 19.00 TOTAL 33.90"
    # A box grazing a word's edge does not take it.
    assert text_in_box(lines, (190, 90, 240, 130)) == "1"


def test_reading_order_keeps_rows_apart() -> None:
    low = Word("b", (0, 50, 10, 60), 1, 0)
    high = Word("a", (100, 0, 110, 10), 0, 0)
    assert in_reading_order([low, high]) == [high, low]


# --- the review page ----------------------------------------------------------------


def test_the_page_sends_word_boxes_but_no_clear_or_clickable_secret(
    clerk: User, invoice: Document
) -> None:
    html = (
        logged_in(clerk)
        .get(reverse("document-detail", args=[invoice.public_id]))
        .content.decode()
    )
    assert 'data-text="Invoice No: INV-1001"' in html
    assert "[&quot;INV-1001&quot;,280,100,440,130]" in html
    assert 'data-box="40,100,440,130"' in html
    # The IBAN line keeps its label; the value is masked and none of its
    # words can be clicked into a field.
    assert 'data-text="IBAN DE89 •••• •••• •••• ••30 00"' in html
    assert "[&quot;IBAN&quot;," in html
    assert "&quot;DE89&quot;" not in html
    assert "0532" not in html


# --- corrections keep their evidence -----------------------------------------------


def test_a_clicked_line_is_stored_with_its_box_and_text(
    clerk: User, invoice: Document
) -> None:
    correct(
        clerk, invoice, "invoice_number", "Invoice No: INV-1001",
        source="clicked_line", evidence_page="1", evidence_box="40,100,440,130",
    )  # fmt: skip
    correction = FieldCorrection.objects.get()
    assert correction.field_name == "invoice_number"
    assert correction.source == FieldCorrection.Source.CLICKED_LINE
    assert correction.page == invoice.pages.get(number=1)
    assert correction.corrected_box == [40, 100, 440, 130]
    assert correction.corrected_ocr_text == "Invoice No: INV-1001"
    assert correction.machine_value == "16.09.2019"
    assert correction.machine_box == [40, 150, 360, 180]
    assert correction.machine_ocr_text == "Date: 16.09.2019"
    assert correction.machine_confidence == pytest.approx(0.41)
    assert (correction.user, correction.role) == (clerk, "clerk")
    assert correction.sealed == {}


def test_a_clicked_word_and_a_drawn_box_keep_the_words_inside(
    clerk: User, invoice: Document
) -> None:
    correct(
        clerk, invoice, "invoice_number", "INV-1001", source="clicked_word",
        evidence_page="1", evidence_box=",".join(map(str, NUMBER_WORD_BOX)),
    )  # fmt: skip
    # A box drawn loosely around the number, a little into the next line.
    correct(
        clerk, invoice, "invoice_number", "INV-1001", source="drawn_box",
        evidence_page="1", evidence_box="270.4,95,450,140",
    )  # fmt: skip
    clicked, drawn = FieldCorrection.objects.order_by("id")
    assert clicked.corrected_ocr_text == "INV-1001"
    assert (drawn.source, drawn.corrected_box) == ("drawn_box", [270, 95, 450, 140])
    assert drawn.corrected_ocr_text == "INV-1001"
    # The machine's value stays what it read, not the first correction.
    assert drawn.machine_value == "16.09.2019"


def test_a_box_dragged_past_the_edge_ends_at_the_edge(
    clerk: User, invoice: Document
) -> None:
    correct(
        clerk, invoice, "invoice_number", "INV-1001", source="drawn_box",
        evidence_page="1", evidence_box="270,95,950,-20",
    )  # fmt: skip
    correction = FieldCorrection.objects.get()
    assert correction.corrected_box == [270, 0, 800, 95]


def test_a_box_on_a_page_the_document_lacks_is_kept_as_typed(
    clerk: User, invoice: Document
) -> None:
    correct(
        clerk, invoice, "invoice_number", "INV-1001", source="drawn_box",
        evidence_page="7", evidence_box="270,95,450,140",
    )  # fmt: skip
    correction = FieldCorrection.objects.get()
    assert (correction.source, correction.page, correction.corrected_box) == (
        "typed",
        None,
        None,
    )


def test_a_typed_correction_is_placed_where_the_page_prints_it(
    clerk: User, invoice: Document
) -> None:
    correct(clerk, invoice, "invoice_number", "INV-1001")
    correction = FieldCorrection.objects.get()
    assert correction.source == "typed"
    # The value's words on its line, not the printed label before it.
    assert correction.page == invoice.pages.get(number=1)
    assert tuple(correction.corrected_box) == NUMBER_WORD_BOX
    assert correction.corrected_ocr_text == "INV-1001"
    assert correction.corrected_value == "INV-1001"


def test_a_typed_value_the_page_does_not_print_has_no_box(
    clerk: User, invoice: Document
) -> None:
    correct(clerk, invoice, "invoice_number", "INV-2002")
    correction = FieldCorrection.objects.get()
    assert correction.page is None and correction.corrected_box is None


def test_a_box_without_its_page_is_refused(clerk: User, invoice: Document) -> None:
    response = logged_in(clerk).post(
        reverse("field-correct", args=[invoice.public_id, "invoice_number"]),
        {"value": "INV-1001", "source": "drawn_box", "evidence_box": "1,2,3"},
    )
    assert response.status_code == 400
    assert "page and box" in response.json()["error"]
    assert not FieldCorrection.objects.exists()


def test_sensitive_values_are_stored_masked_and_sealed(
    clerk: User, invoice: Document
) -> None:
    typed = "GB82WEST12345698765432"
    correct(clerk, invoice, "iban", typed)
    correction = FieldCorrection.objects.get()
    stored = " ".join(
        str(getattr(correction, column))
        for column in ("machine_value", "machine_ocr_text", "corrected_value")
    )
    assert "0532" not in stored.replace(" ", "")
    assert "5698" not in stored.replace(" ", "")
    assert correction.corrected_value.startswith("GB82")
    assert set(correction.sealed) == {
        "machine_value",
        "machine_ocr_text",
        "corrected_value",
    }
    assert clear_text(correction, "corrected_value", reveal=True) == typed
    assert clear_text(correction, "machine_ocr_text", reveal=True) == IBAN_LINE[0]
    # The ciphertext is the audit trail's: only the audit key opens it.
    assert unseal(correction.sealed["machine_value"]) == IBAN


def test_an_ordinary_field_taken_from_the_iban_line_is_sealed_too(
    clerk: User, invoice: Document
) -> None:
    # A request crafted to take a field's value from the masked line.
    field_correct(
        document=invoice,
        name="invoice_number",
        value="X1",
        user=clerk,
        evidence=CorrectionEvidence(
            source="drawn_box", page_number=1, box=(30, 220, 670, 270)
        ),
    )
    correction = FieldCorrection.objects.get()
    assert "0532" not in correction.corrected_ocr_text
    assert clear_text(correction, "corrected_ocr_text", reveal=True) == IBAN_LINE[0]


# --- export_training ------------------------------------------------------------------


def export(*args: str) -> str:
    out = StringIO()
    call_command("export_training", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def corrected(clerk: User, invoice: Document) -> Document:
    correct(
        clerk, invoice, "invoice_number", "INV-1001", source="clicked_word",
        evidence_page="1", evidence_box=",".join(map(str, NUMBER_WORD_BOX)),
    )  # fmt: skip
    correct(clerk, invoice, "iban", "GB82WEST12345698765432")
    return invoice


def test_jsonl_has_one_correction_a_line_masked_by_default(
    corrected: Document,
) -> None:
    records = [json.loads(line) for line in export("--format", "jsonl").splitlines()]
    assert [record["field"] for record in records] == ["invoice_number", "iban"]
    number = records[0]
    assert number["document"] == str(corrected.public_id)
    assert number["corrected"] == {
        "value": "INV-1001",
        "source": "clicked_word",
        "page": {
            "number": 1,
            "image": corrected.pages.get().image.name,
            "width": 800,
            "height": 600,
        },
        "box": list(NUMBER_WORD_BOX),
        "ocr_text": "INV-1001",
    }
    assert number["machine"]["ocr_text"] == "Date: 16.09.2019"
    assert number["masked"] is False
    iban = records[1]
    assert iban["masked"] is True
    assert "0532" not in json.dumps(iban).replace(" ", "")
    assert "5698" not in json.dumps(iban).replace(" ", "")
    event = AuditEvent.objects.get(event_type="training_exported")
    assert event.details["masked"] is True
    assert event.details["corrections"] == 2
    assert event.actor_username == ""


def test_a_clerk_cannot_reveal_and_a_reveal_needs_a_reason(
    corrected: Document, clerk: User, admin_user: User
) -> None:
    with pytest.raises(CommandError, match="allowed to reveal"):
        export("--user", "clerk", "--reveal", "--reason", "training run")
    with pytest.raises(CommandError, match="--reason"):
        export("--user", "admin", "--reveal")
    with pytest.raises(CommandError, match="no user"):
        export("--user", "nobody")
    assert not AuditEvent.objects.filter(event_type="training_exported").exists()


def test_an_admin_reveals_with_a_reason_and_it_is_recorded(
    corrected: Document, admin_user: User
) -> None:
    text = export("--user", "admin", "--reveal", "--reason", "retrain the IBAN reader")
    assert "GB82WEST12345698765432" in text
    reveal = AuditEvent.objects.get(event_type="sensitive_revealed")
    assert reveal.actor_username == "admin"
    assert reveal.details["reason"] == "retrain the IBAN reader"
    exported = AuditEvent.objects.get(event_type="training_exported")
    assert exported.details["masked"] is False


def test_since_corrected_by_and_output(
    corrected: Document, tmp_path: Path, other_clerk: User
) -> None:
    output = tmp_path / "corrections.jsonl"
    assert export("--output", str(output)) == ""
    assert len(output.read_text().splitlines()) == 2
    assert export("--since", "2999-01-01") == ""
    assert len(export("--since", "2020-01-01").splitlines()) == 2
    assert len(export("--corrected-by", "clerk").splitlines()) == 2
    assert export("--corrected-by", "other_clerk") == ""


def test_a_value_sealed_under_an_old_key_is_exported_masked(
    corrected: Document, admin_user: User, settings: SettingsWrapper
) -> None:
    settings.VOUCH_AUDIT_KEY = "a key from after a rotation"
    text = export("--user", "admin", "--reveal", "--reason", "retrain the reader")
    assert "5698" not in text.replace(" ", "")


def test_kie_labels_every_line_of_a_corrected_page(corrected: Document) -> None:
    lines = export("--format", "kie").splitlines()
    assert len(lines) == 1  # one corrected page; the typed IBAN has no box
    image, labels = lines[0].split("\t")
    assert image == corrected.pages.get().image.name
    annotations = json.loads(labels)
    assert [a["id"] for a in annotations] == list(range(len(annotations)))
    by_text = {a["transcription"]: a for a in annotations}
    # The number's line is split: its printed label is "other", the value the field.
    assert by_text["Invoice No:"]["label"] == "other"
    number = by_text["INV-1001"]
    assert number["label"] == "invoice_number"
    assert number["points"] == [[280, 100], [440, 100], [440, 130], [280, 130]]
    assert number["linking"] == []
    assert by_text["Total EUR 120,50"]["label"] == "other"
    # The IBAN line is there, masked.
    masked = [a for a in annotations if a["transcription"].startswith("IBAN")]
    assert len(masked) == 1 and "0532" not in masked[0]["transcription"]


# --- the browser download ------------------------------------------------------------


def download(user: User, **data: str) -> tuple[int, str]:
    response = logged_in(user).post(reverse("training-export"), data)
    if response.streaming:
        body = b"".join(response.streaming_content).decode()  # type: ignore[arg-type]
    else:
        body = response.content.decode()
    return response.status_code, body


def test_an_admin_downloads_training_data_masked(
    corrected: Document, admin_user: User
) -> None:
    status, body = download(admin_user, format="jsonl")
    assert status == 200
    assert len(body.splitlines()) == 2
    assert "5698" not in body.replace(" ", "")
    exported = AuditEvent.objects.get(event_type="training_exported")
    assert (exported.actor_username, exported.details["destination"]) == (
        "admin",
        "browser download",
    )


def test_an_admin_reveals_in_the_browser_only_with_a_reason(
    corrected: Document, admin_user: User
) -> None:
    status, body = download(admin_user, format="kie", reveal="on", reason="")
    assert status == 400
    assert "Say why" in body
    assert not AuditEvent.objects.filter(event_type="training_exported").exists()
    status, body = download(
        admin_user, format="jsonl", reveal="on", reason="retrain the IBAN reader"
    )
    assert status == 200
    assert "GB82WEST12345698765432" in body
    assert AuditEvent.objects.filter(event_type="sensitive_revealed").count() == 1


def test_supervisors_and_clerks_may_not_download_training_data(
    corrected: Document, supervisor: User, clerk: User
) -> None:
    for user in (supervisor, clerk):
        assert download(user, format="jsonl")[0] == 403
    assert not AuditEvent.objects.filter(event_type="training_exported").exists()
