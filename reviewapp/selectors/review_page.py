"""Everything the review page shows: fields, lines, boxes and checks (its
history: selectors.history)."""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings

from pipeline.validate.fields import label as rule_field_label
from reviewapp import routing
from reviewapp.extraction_fields import (
    FIELD_LABELS,
    fields_for_type,
    label_for_type,
    required_fields_for_type,
)
from reviewapp.masking import (
    SecretSet,
    document_secret_set,
    document_secrets,
    is_real_secret,
    mask_text,
    mask_value,
    masked_rendition_pdf,
    redact_image,
    secret_boxes,
    secret_word_indexes,
    sensitive_field_names,
)
from reviewapp.models.documents import Document, Page, TextLine
from reviewapp.models.fields import Field
from reviewapp.models.review import BankChangeAttestation
from reviewapp.models.validation import DocumentValidation, ValidationIssue
from reviewapp.ocr_evidence import RESPACED_FIELDS, line_words, respaced
from reviewapp.permissions import (
    HANDLE_EXCEPTIONS,
    AnyUser,
)
from reviewapp.selectors.splitting import BATCH_STATUSES, batch_page_values
from reviewapp.thresholds import is_unsure, review_thresholds

logger = logging.getLogger(__name__)


# ---------- the review page, masked ----------


@dataclass(frozen=True)
class FieldRow:
    name: str
    label: str
    field: Field | None
    sensitive: bool
    shown_value: str  # masked when sensitive
    shown_explanation: str  # with the value masked in it too
    flagged: bool
    issues: tuple[IssueView, ...] = ()  # failing checks that involve this field
    # Not sensitive itself, but its value holds a sensitive one: shown masked,
    # and never put back into an edit box.
    holds_secret: bool = False
    # May be confirmed "not on this document".
    optional: bool = True

    @property
    def respaced(self) -> bool:
        """Click-to-fill offers the line with its spacing restored."""
        return self.name in RESPACED_FIELDS

    @property
    def shown_confidence(self) -> str:
        """Rounded down: 0.997 under a 0.998 threshold must not read "1.00"
        beside a flag."""
        if self.field is None or self.field.confidence is None:
            return ""
        return f"{math.floor(self.field.confidence * 100) / 100:.2f}"

    @property
    def confirmed_absent(self) -> bool:
        return (
            self.field is not None
            and not self.field.value
            and self.field.set_by == Field.SetBy.HUMAN
        )


def is_flagged(
    name: str,
    field: Field | None,
    *,
    thresholds: dict[str, float],
    named_by_check: bool,
) -> bool:
    """A field needs a person's look when a check names it or its value is
    below its threshold. A missing field is flagged only through the check
    that requires it: an absent optional field is not (most receipts have no
    VAT id)."""
    if named_by_check:
        return True
    if field is None or not field.value:
        return False
    return is_unsure(name, field.confidence, thresholds)


def review_page(
    document: Document, issues_by_field: dict[str, list[IssueView]] | None = None
) -> dict[str, Any]:
    """The review page's fields and pages with every sensitive value masked,
    in text lines too, each field with the failing checks that involve it.
    `document` comes from `document_for_review`."""
    sensitive = sensitive_field_names()
    fields = list(document.fields.all())
    by_name = {field.name: field for field in fields}
    everywhere = document_secrets(fields, sensitive)
    if document.status in BATCH_STATUSES:
        everywhere = everywhere.with_values(
            value
            for page in document.pages.all()
            for name, value in batch_page_values(page)
            if name in sensitive
        )
    thresholds = review_thresholds()
    issues_by_field = issues_by_field or {}
    shown_names = fields_for_type(document.document_type)
    required = required_fields_for_type(document.document_type)
    rows = []
    # The type's fields, and any other a check names (a receipt's IBAN that
    # failed its check is still said).
    for name in FIELD_LABELS:
        if name not in shown_names and name not in issues_by_field:
            continue
        label = label_for_type(name, document.document_type)
        field = by_name.get(name)
        value = field.value if field else ""
        explanation = field.explanation if field else ""
        holds_secret = False
        if name in sensitive and field is not None:
            # Masked in its own field whatever it is; its explanation may quote
            # it as read.
            value = mask_value(value)
            clear = [field.raw_value, field.machine_value, field.value]
            explanation = mask_text(explanation, everywhere.with_values(clear))
        else:
            # Another field that swallowed a sensitive value shows it masked.
            shown = mask_text(value, everywhere)
            holds_secret = shown != value
            value, explanation = shown, mask_text(explanation, everywhere)
        rows.append(
            FieldRow(
                name=name,
                label=label,
                field=field,
                sensitive=name in sensitive,
                shown_value=value,
                shown_explanation=explanation,
                flagged=is_flagged(
                    name,
                    field,
                    thresholds=thresholds,
                    named_by_check=name in issues_by_field,
                ),
                issues=tuple(issues_by_field.get(name, ())),
                holds_secret=holds_secret,
                optional=name not in required,
            )
        )
    pages = list(document.pages.all())
    for page in pages:
        page.shown_lines = [  # type: ignore[attr-defined]
            shown_line(line, everywhere) for line in page.lines.all()
        ]
    # What the vendor directory did on the last reading, field by field.
    memory_notes = [
        {
            "label": field_label(note["field"]) if note.get("field") else "",
            "applied": bool(note.get("applied")),
            "reason": mask_text(str(note.get("reason", "")), everywhere),
        }
        for note in document.memory_notes
    ]
    return {
        "fields": rows,
        "pages": pages,
        "memory_notes": memory_notes,
        "escalation_note": mask_text(document.escalation_note, everywhere),
        "decision_note": mask_text(document.decision_note, everywhere),
    }


@dataclass(frozen=True)
class ShownLine:
    """An OCR line on the review page: its text with sensitive values masked,
    and its approximate word boxes for click-to-fill (see ocr_evidence),
    without the words that show a sensitive value (their pixels are blacked
    out, and nothing could fill a field from them)."""

    line: TextLine
    text: str
    words_json: str
    # The text with the spacing the pipeline restores in names and addresses,
    # when that differs ("" otherwise): what clicking fills such a field with.
    respaced: str = ""


def shown_line(line: TextLine, secrets: SecretSet) -> ShownLine:
    hidden = secret_word_indexes(line.text, secrets)
    words = [
        [word.text, *word.box]
        for word in line_words(line.text, line.box, line_order=line.order)
        if word.index not in hidden
    ]
    text = mask_text(line.text, secrets)
    repaired = respaced(text)
    return ShownLine(
        line=line,
        text=text,
        words_json=json.dumps(words, separators=(",", ":"), ensure_ascii=False),
        respaced=repaired if repaired != " ".join(text.split()) else "",
    )


def redaction_boxes(page: Page) -> list[tuple[int, int, int, int]]:
    """Where the page image shows sensitive values, to black out before
    serving it: the word boxes of each value in the lines read on the page,
    and the box of a sensitive field whose value no line shows (typed from a
    box drawn by hand, say)."""
    sensitive = sensitive_field_names()
    if not sensitive:
        return []
    fields = list(page.document.fields.filter(name__in=sensitive))
    secrets = document_secrets(fields, sensitive)
    read_here = batch_page_values(page)
    if read_here:
        # A batch has no fields yet: what its page shows is masked all the same.
        secrets = secrets.with_values(
            value for name, value in read_here if name in sensitive
        )
    lines = list(page.lines.all())
    boxes = [
        box for line in lines for box in secret_boxes(line.text, line.box, secrets)
    ]
    shown_text = "".join("".join(line.text.split()).upper() for line in lines)
    for field in fields:
        value = "".join(field.value.split()).upper()
        if (
            field.page_id == page.pk
            and field.box
            and is_real_secret(field.name, field.value)
            and value not in shown_text
        ):
            x0, y0, x1, y1 = (int(edge) for edge in field.box[:4])
            boxes.append((x0, y0, x1, y1))
    return boxes


def masked_page_image(page: Page) -> bytes | None:
    """The page image as everyone sees it (sensitive values blacked out), or
    None when nothing on it needs hiding and the stored file can be sent."""
    boxes = redaction_boxes(page)
    if not boxes:
        return None
    with page.image.open("rb") as image:
        return redact_image(image.read(), boxes)


def masked_rendition(document: Document) -> bytes | None:
    """The document as a PDF of its masked page images (None before it has
    any): the download for whoever may not see the original."""
    images = []
    for page in document.pages.filter(image__gt="").order_by("number"):
        masked = masked_page_image(page)
        if masked is None:
            with page.image.open("rb") as image:
                masked = image.read()
        images.append(masked)
    return masked_rendition_pdf(images) if images else None


def field_payload(field: Field) -> dict[str, Any]:
    """A field for a JSON answer, masked when sensitive (or when it holds a
    sensitive value of its document)."""
    if field.name not in sensitive_field_names():
        return {
            "name": field.name,
            "value": mask_text(field.value, document_secret_set(field.document_id)),
            "set_by": field.set_by,
        }
    # A clerk confirms a masked value by typing it in full: say whether it is
    # what the machine read, without showing what that was.
    typed, read = (
        "".join(text.split()).upper() for text in (field.value, field.machine_value)
    )
    return {
        "name": field.name,
        "value": mask_value(field.value),
        "set_by": field.set_by,
        "matches_read_value": bool(read) and typed == read,
    }


@dataclass(frozen=True)
class IssueView:
    """A validation issue as the review page shows it."""

    code: str
    severity: str
    message: str
    # (name, label, listed) of each field involved; `listed`: the page shows it.
    fields: tuple[tuple[str, str, bool], ...]
    needs_supervisor: bool


def field_label(name: str) -> str:
    """The review page's label for a field, also for line fields and fields
    the page does not list ("line_items[1].quantity" -> "Line 2 quantity")."""
    if name in FIELD_LABELS:
        return FIELD_LABELS[name]
    line = re.fullmatch(r"line_items\[(\d+)\]\.(\w+)", name)
    if line:
        return f"Line {int(line[1]) + 1} {line[2].replace('_', ' ')}"
    text = rule_field_label(name)
    return text[:1].upper() + text[1:]


def validation_of(document: Document) -> DocumentValidation | None:
    """The latest validation's vendor and PO match, or None before the first."""
    return (
        DocumentValidation.objects.filter(document=document)
        .select_related("vendor", "purchase_order")
        .first()
    )


def validation_issues_for(document: Document) -> list[IssueView]:
    """The document's failing rules, errors first, in the order they ran, each
    message with the sensitive values it quotes masked (those of the fields it
    names even when they fail their own check: "The VAT id DE12••••89 ...")."""
    issues: Iterable[ValidationIssue] = document.validation_issues.all()
    ordered = sorted(issues, key=lambda issue: (issue.severity != "error", issue.pk))
    sensitive = sensitive_field_names()
    values = {
        name: [field_value, machine_value, raw_value]
        for name, field_value, machine_value, raw_value in Field.objects.filter(
            document_id=document.pk, name__in=sensitive
        ).values_list("name", "value", "machine_value", "raw_value")
    }
    secrets = SecretSet.of(
        ((name, value) for name, clear in values.items() for value in clear),
        sensitive,
    )
    return [
        IssueView(
            code=issue.code,
            severity=issue.severity,
            message=mask_text(
                issue.message,
                secrets.with_values(
                    value for name in issue.fields for value in values.get(name, ())
                ),
            ),
            fields=tuple(
                (name, field_label(name), name in FIELD_LABELS) for name in issue.fields
            ),
            needs_supervisor=issue.needs_supervisor,
        )
        for issue in ordered
    ]


def issues_by_field(issues: list[IssueView]) -> dict[str, list[IssueView]]:
    """The same issues keyed by each field they involve, for inline messages."""
    by_field: dict[str, list[IssueView]] = {}
    for issue in issues:
        for name, _, _ in issue.fields:
            by_field.setdefault(name, []).append(issue)
    return by_field


# ---------- approvals ----------


def approval_refusal(document_id: int, user: AnyUser, *, escalated: bool) -> str:
    """Why `user` may not approve the document although the workflow lets them
    act ("" when they may): it is reserved to someone else (see
    `_reserved_refusal`), or a flagged field is not confirmed yet."""
    reserved = _reserved_refusal(document_id, user, escalated=escalated)
    if reserved:
        return reserved
    unconfirmed = unconfirmed_flagged_fields(document_id)
    if unconfirmed:
        return (
            "Confirm or correct the flagged fields first: "
            + ", ".join(label for _, label in unconfirmed)
            + "."
        )
    return ""


def _reserved_refusal(document_id: int, user: AnyUser, *, escalated: bool) -> str:
    """Why the amount or the checks reserve approval to someone else. A
    total over VOUCH_SUPERVISOR_AMOUNT_LIMIT or a rule exception (a PO
    mismatch, a duplicate ...) needs a supervisor; changed bank details (an
    issue with needs_supervisor) need an escalation and then a supervisor who
    neither escalated the document nor changed its fields, after someone else
    attested how the new details were verified."""
    total_value = (
        Field.objects.filter(document_id=document_id, name="total_amount")
        .values_list("value", flat=True)
        .first()
    )
    total = routing.amount_of(total_value or "")
    limit = Decimal(settings.VOUCH_SUPERVISOR_AMOUNT_LIMIT)
    if total is not None and total > limit and not user.has_perm(HANDLE_EXCEPTIONS):
        return (
            f"The total {total} is over {limit}, the most a clerk may approve: "
            "escalate it (amount over my approval limit) for a supervisor."
        )
    exception = (
        ValidationIssue.objects.filter(
            document_id=document_id,
            severity=ValidationIssue.Severity.ERROR,
            rule__in=routing.EXCEPTION_RULES,
            needs_supervisor=False,
        )
        .order_by("id")
        .first()
    )
    if exception is not None and not user.has_perm(HANDLE_EXCEPTIONS):
        message = mask_text(exception.message, document_secret_set(document_id))
        return (
            f"A check only a supervisor settles failed: {message} "
            "Escalate the document."
        )
    if not ValidationIssue.objects.filter(
        document_id=document_id, needs_supervisor=True
    ).exists():
        return ""
    if not escalated:
        return (
            "The bank details differ from the vendor's: escalate the document; "
            "a supervisor other than you must approve it."
        )
    handlers = set(
        Field.objects.filter(
            document_id=document_id, corrected_by__isnull=False
        ).values_list("corrected_by", flat=True)
    )
    handlers.add(
        Document.objects.values_list("escalated_by", flat=True).get(pk=document_id)
    )
    if user.pk in handlers:
        return (
            "You handled this document (you escalated it or changed its fields) "
            "and its bank details changed: another supervisor must approve it."
        )
    attestation = (
        BankChangeAttestation.objects.filter(document_id=document_id)
        .values_list("attested_by", flat=True)
        .first()
    )
    if attestation is None:
        return (
            "The bank details changed: someone must first attest how they "
            "verified them with the vendor (how, with whom, when); then a "
            "supervisor other than them approves."
        )
    if attestation == user.pk:
        return (
            "You attested the new bank details: a second person, another "
            "supervisor, must approve them."
        )
    return ""


def unconfirmed_flagged_fields(document_id: int) -> list[tuple[str, str]]:
    """(name, label) of each field the review page flags that no person has
    confirmed or corrected yet, in page order."""
    document = Document.objects.only("document_type").get(pk=document_id)
    fields = {
        field.name: field for field in Field.objects.filter(document_id=document_id)
    }
    named = {
        name
        for names in ValidationIssue.objects.filter(
            document_id=document_id
        ).values_list("fields", flat=True)
        for name in names
    }
    thresholds = review_thresholds()
    shown = fields_for_type(document.document_type)
    return [
        (name, label_for_type(name, document.document_type))
        for name in FIELD_LABELS
        if (name in shown or name in named)
        and not (
            fields.get(name) is not None and fields[name].set_by == Field.SetBy.HUMAN
        )
        and is_flagged(
            name,
            fields.get(name),
            thresholds=thresholds,
            named_by_check=name in named,
        )
    ]


# ---------- bank-detail changes ----------


@dataclass(frozen=True)
class BankChangeView:
    """A bank-detail change as the review page shows it: the vendor master's
    accounts against the document's (masked), and who attested what."""

    vendor_name: str
    master_ibans: tuple[str, ...]
    document_iban: str
    attestations: tuple[BankChangeAttestation, ...]


def bank_change_for(
    document: Document, validation: DocumentValidation | None
) -> BankChangeView | None:
    """None unless a check found changed bank details on `document`."""
    if not document.validation_issues.filter(needs_supervisor=True).exists():
        return None
    vendor = validation.vendor if validation else None
    iban = (
        Field.objects.filter(document=document, name="iban")
        .values_list("value", flat=True)
        .first()
    )
    return BankChangeView(
        vendor_name=vendor.name if vendor else "",
        master_ibans=tuple(
            mask_value(value) for value in (vendor.ibans if vendor else [])
        ),
        document_iban=mask_value(iban or ""),
        attestations=tuple(
            BankChangeAttestation.objects.filter(document=document).select_related(
                "attested_by"
            )
        ),
    )
