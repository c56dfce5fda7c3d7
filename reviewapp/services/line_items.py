"""Writing invoice line items: store the machine's rows, and people's edits to them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from pipeline.extract.normalize import parse_amount
from pipeline.types import ExtractedLine
from pipeline.validate.wording import line_field
from reviewapp import broadcast
from reviewapp.audit.trail import record_event
from reviewapp.export_formats import decimal_text
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document, Page
from reviewapp.models.fields import LineItem
from reviewapp.selectors.line_items import EDITABLE_COLUMNS, TEXT_COLUMNS, row_values
from reviewapp.services.review import document_hold_for_editing
from reviewapp.services.validation import (
    document_refresh_review_columns,
    document_validate,
)

EventType = AuditEvent.EventType

# Decimal places each number column keeps (the model's decimal_places).
_PLACES = {"quantity": 6, "unit_price": 6, "amount": 4, "tax_rate": 4}


class LineItemRefused(Exception):
    """A line-item edit cannot be made as asked (bad value, unknown row);
    `reason` is for the person who tried."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LineItemMissing(LineItemRefused):
    """The line is not (or no longer) on this document."""


# --- storing the pipeline's lines ----------------------------------------------


def _stored(column: str, value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    return value.quantize(Decimal(1).scaleb(-_PLACES[column]), rounding=ROUND_HALF_UP)


def line_items_store(
    *,
    document: Document,
    lines: Sequence[ExtractedLine],
    pages: Mapping[int, Page],
) -> None:
    """Replace the document's machine lines with `lines` (inside the caller's
    transaction).

    Once a person has edited, added or split any line, the grid is theirs: no
    row is replaced, added or removed; the machine's new reading only updates
    the machine_* copies of the rows at the same positions.
    """
    current = list(document.line_items.order_by("position", "id"))
    if any(line.set_by == LineItem.SetBy.HUMAN for line in current):
        by_position = {line.position: line for line in current}
        updated = []
        for extracted in lines:
            row = by_position.get(extracted.position)
            if row is not None:
                _copy_machine(row, extracted)
                updated.append(row)
        LineItem.objects.bulk_update(updated, MACHINE_COLUMNS)
        return
    LineItem.objects.filter(document=document).delete()
    rows = []
    for extracted in lines:
        row = LineItem(
            document=document,
            position=extracted.position,
            description=extracted.description,
            item_code=extracted.item_code[:100],
            quantity=_stored("quantity", extracted.quantity),
            unit_price=_stored("unit_price", extracted.unit_price),
            amount=_stored("amount", extracted.amount),
            tax_rate=_stored("tax_rate", extracted.tax_rate),
            confidence=extracted.confidence,
            page=pages.get(extracted.page_number) if extracted.page_number else None,
            box=list(extracted.box) if extracted.box else None,
            source=extracted.source,
            explanation=extracted.explanation,
        )
        _copy_machine(row, extracted)
        rows.append(row)
    LineItem.objects.bulk_create(rows)


MACHINE_COLUMNS = (
    "machine_description",
    "machine_quantity",
    "machine_unit_price",
    "machine_amount",
    "machine_tax_rate",
    "machine_confidence",
)


def _copy_machine(row: LineItem, extracted: ExtractedLine) -> None:
    row.machine_description = extracted.description
    row.machine_quantity = _stored("quantity", extracted.quantity)
    row.machine_unit_price = _stored("unit_price", extracted.unit_price)
    row.machine_amount = _stored("amount", extracted.amount)
    row.machine_tax_rate = _stored("tax_rate", extracted.tax_rate)
    row.machine_confidence = extracted.confidence


# --- edits ----------------------------------------------------------------------


def parse_cell(column: str, text: str) -> str | Decimal | None:
    """A typed cell value in stored form. Numbers may use either thousands
    convention ("1.234,50", "1,234.50"); a rate may end in "%". Raises
    LineItemRefused on anything else."""
    if column not in EDITABLE_COLUMNS:
        raise LineItemRefused(f"{column} is not a line-item column.")
    text = text.strip()
    if column in TEXT_COLUMNS:
        limit = 100 if column == "item_code" else 2000
        if len(text) > limit:
            raise LineItemRefused(f"At most {limit} characters, please.")
        return text
    if not text:
        return None
    value = parse_amount(text.rstrip("%").strip())
    if value is None:
        try:
            value = Decimal(text.rstrip("%").strip())
        except InvalidOperation:
            value = None
    if value is None or not value.is_finite() or abs(value) >= 10**12:
        raise LineItemRefused(f"{text!r} is not a number.")
    if column == "tax_rate" and not 0 <= value <= 100:
        raise LineItemRefused("A tax rate is a percentage between 0 and 100.")
    return _stored(column, value)


def _mark_human(line: LineItem, user: AbstractBaseUser) -> None:
    line.set_by = LineItem.SetBy.HUMAN
    line.corrected_by = user  # type: ignore[assignment]
    line.corrected_at = timezone.now()
    line.confidence = 1.0


def _renumber(document: Document) -> None:
    for position, line in enumerate(
        document.line_items.order_by("position", "id"), start=1
    ):
        if line.position != position:
            line.position = position
            line.save(update_fields=["position"])


def _locked_line(document: Document, line_id: int) -> LineItem:
    line = (
        LineItem.objects.select_for_update()
        .filter(document=document, pk=line_id)
        .first()
    )
    if line is None:
        raise LineItemMissing("That line is no longer on this document.")
    return line


def _index_of(line: LineItem) -> int:
    return LineItem.objects.filter(
        document_id=line.document_id, position__lt=line.position
    ).count()


def _after_change(document: Document) -> None:
    """Renumber, re-run the checks and tell open pages (inside the transaction)."""
    _renumber(document)
    document_validate(document=document)
    document_refresh_review_columns(document=document)
    document.refresh_from_db()
    broadcast.document_changed(document)


def line_item_update(
    *,
    document: Document,
    line_id: int,
    column: str,
    value: str,
    user: AbstractBaseUser,
    reason: str = "",
) -> LineItem:
    """A person sets one cell of a line. Audited like a field correction, the
    field named "line_items[<index>].<column>". Raises ReviewRefused without
    the right to edit, LineItemRefused on a bad value or unknown line."""
    parsed = parse_cell(column, value)
    with transaction.atomic():
        document_hold_for_editing(document=document, user=user)
        line = _locked_line(document, line_id)
        old = row_values(line)[column]
        setattr(line, column, parsed)
        previously = line.set_by
        _mark_human(line, user)
        line.save()
        _after_change(document)
        line.refresh_from_db()
        record_event(
            EventType.FIELD_CHANGED,
            actor=user,
            document=document,
            details={
                "field": line_field(_index_of(line), column),
                "machine_confidence": line.machine_confidence,
                "previously_set_by": previously,
                "reason": reason,
                "old_value": old,
                "new_value": row_values(line)[column],
            },
        )
    return line


def _record_rows_changed(
    document: Document,
    user: AbstractBaseUser,
    *,
    action: str,
    position: int,
    old: list[dict[str, str]],
    new: list[dict[str, str]],
    machine_confidence: float | None,
    reason: str,
) -> None:
    record_event(
        EventType.LINE_ITEMS_CHANGED,
        actor=user,
        document=document,
        details={
            "action": action,
            "position": position,
            "old_value": old,
            "new_value": new,
            "machine_confidence": machine_confidence,
            "reason": reason,
        },
    )


def line_item_add(
    *,
    document: Document,
    user: AbstractBaseUser,
    after_line_id: int | None = None,
    reason: str = "",
) -> LineItem:
    """A person adds an empty line, below `after_line_id` or at the end."""
    with transaction.atomic():
        document_hold_for_editing(document=document, user=user)
        lines = list(
            LineItem.objects.select_for_update()
            .filter(document=document)
            .order_by("position", "id")
        )
        after = next((line for line in lines if line.pk == after_line_id), None)
        if after_line_id is not None and after is None:
            raise LineItemMissing("That line is no longer on this document.")
        position = after.position + 1 if after else len(lines) + 1
        for line in lines:
            if line.position >= position:
                line.position += 1
                line.save(update_fields=["position"])
        added = LineItem(document=document, position=position, source="human")
        _mark_human(added, user)
        added.save()
        _after_change(document)
        added.refresh_from_db()
        _record_rows_changed(
            document,
            user,
            action="add",
            position=added.position,
            old=[],
            new=[row_values(added)],
            machine_confidence=None,
            reason=reason,
        )
    return added


def line_item_delete(
    *, document: Document, line_id: int, user: AbstractBaseUser, reason: str = ""
) -> None:
    """A person removes a line (one the machine invented, or a duplicate)."""
    with transaction.atomic():
        document_hold_for_editing(document=document, user=user)
        line = _locked_line(document, line_id)
        old, position = row_values(line), line.position
        machine_confidence = line.machine_confidence
        line.delete()
        # The grid is now a person's: a re-run must not bring the line back.
        document.line_items.update(set_by=LineItem.SetBy.HUMAN)
        _after_change(document)
        _record_rows_changed(
            document,
            user,
            action="delete",
            position=position,
            old=[old],
            new=[],
            machine_confidence=machine_confidence,
            reason=reason,
        )


def _split_quantities(quantity: Decimal) -> tuple[Decimal, Decimal]:
    if quantity == quantity.to_integral() and abs(quantity) >= 2:
        first = (quantity / 2).to_integral_value(rounding="ROUND_FLOOR")
    else:
        first = _stored("quantity", quantity / 2) or Decimal(0)
    return first, quantity - first


def line_item_split(
    *,
    document: Document,
    line_id: int,
    user: AbstractBaseUser,
    first_quantity: str = "",
    reason: str = "",
) -> tuple[LineItem, LineItem]:
    """A person splits one line into two (the reader merged two printed lines,
    or one line bills two deliveries). The first keeps `first_quantity` (by
    default half), the second the rest; both keep description, price and
    rate, and their amounts add up to the original amount."""
    with transaction.atomic():
        document_hold_for_editing(document=document, user=user)
        line = _locked_line(document, line_id)
        old = row_values(line)
        second = LineItem(
            document=document,
            position=line.position + 1,
            description=line.description,
            item_code=line.item_code,
            unit_price=line.unit_price,
            tax_rate=line.tax_rate,
            page=line.page,
            box=line.box,
            source=line.source,
        )
        if line.quantity is not None:
            if first_quantity.strip():
                wanted = parse_cell("quantity", first_quantity)
                assert isinstance(wanted, Decimal)
                if (
                    wanted == 0
                    or abs(wanted) >= abs(line.quantity)
                    or (wanted > 0) != (line.quantity > 0)
                ):
                    raise LineItemRefused(
                        f"The first line keeps part of the quantity "
                        f"{decimal_text(line.quantity)}: a smaller amount, "
                        f"same sign."
                    )
                first_part, second_part = wanted, line.quantity - wanted
            else:
                first_part, second_part = _split_quantities(line.quantity)
            line.quantity, second.quantity = first_part, second_part
        if line.amount is not None:
            total = line.amount
            if line.quantity is not None and line.unit_price is not None:
                first_amount = _stored("amount", line.quantity * line.unit_price)
            elif line.quantity is not None and second.quantity is not None:
                # No price printed: the amount is shared by quantity.
                share = line.quantity / (line.quantity + second.quantity)
                first_amount = _stored("amount", total * share)
            else:
                first_amount = _stored("amount", total / 2)
            assert first_amount is not None
            line.amount, second.amount = first_amount, total - first_amount
        _mark_human(line, user)
        _mark_human(second, user)
        LineItem.objects.filter(document=document, position__gt=line.position).update(
            position=F("position") + 1
        )
        line.save()
        second.save()
        _after_change(document)
        line.refresh_from_db()
        second.refresh_from_db()
        _record_rows_changed(
            document,
            user,
            action="split",
            position=line.position,
            old=[old],
            new=[row_values(line), row_values(second)],
            machine_confidence=line.machine_confidence,
            reason=reason,
        )
    return line, second
