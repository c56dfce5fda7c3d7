"""The line-item grid's writes: thin adapters from HTTP to reviewapp.line_items.

Each answers with the grid and the checks re-rendered, so the page shows the
new row checks and rule issues without a reload.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from django.http import HttpRequest, JsonResponse
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST

from reviewapp import line_items, selectors, services
from reviewapp.forms import LineItemCellForm, LineItemRowForm
from reviewapp.models import Document
from reviewapp.permissions import document_for, review_rights


def _form_error(form: LineItemCellForm | LineItemRowForm) -> JsonResponse:
    problems = [error for errors in form.errors.values() for error in errors]
    return JsonResponse({"error": " ".join(problems)}, status=400)


def _answer(
    request: HttpRequest, document: Document, change: Callable[[], object]
) -> JsonResponse:
    """Run `change`, then send the grid and checks as they are now."""
    try:
        change()
    except services.ReviewRefused as refusal:
        return JsonResponse({"error": refusal.reason}, status=409)
    except line_items.LineItemMissing as missing:
        return JsonResponse({"error": missing.reason}, status=404)
    except line_items.LineItemRefused as refused:
        return JsonResponse({"error": refused.reason}, status=400)
    document.refresh_from_db()
    issues = selectors.validation_issues_for(document)
    grid = line_items.line_grid(document)
    return JsonResponse(
        {
            "grid_html": render_to_string(
                "reviewapp/partials/line_items.html",
                {
                    "document": document,
                    "line_grid": grid,
                    "can_write": review_rights(request.user, document).can_edit_fields,
                },
                request=request,
            ),
            "issues_html": render_to_string(
                "reviewapp/partials/validation_issues.html",
                {"issues": issues, "validation": selectors.validation_of(document)},
                request=request,
            ),
            "field_issues": {
                name: [
                    {"severity": issue.severity, "message": issue.message}
                    for issue in field_issues
                ]
                for name, field_issues in selectors.issues_by_field(issues).items()
            },
            "rows": grid["rows"],
        }
    )


def _writable(request: HttpRequest, public_id: UUID) -> Document | JsonResponse:
    document, can_write = document_for(request.user, public_id)
    if not can_write:
        return JsonResponse({"error": "You may not change this document."}, status=403)
    return document


@require_POST
def line_item_update(
    request: HttpRequest, public_id: UUID, line_id: int
) -> JsonResponse:
    document = _writable(request, public_id)
    if isinstance(document, JsonResponse):
        return document
    form = LineItemCellForm(request.POST)
    if not form.is_valid():
        return _form_error(form)
    return _answer(
        request,
        document,
        lambda: line_items.line_item_update(
            document=document,
            line_id=line_id,
            column=form.cleaned_data["column"],
            value=form.cleaned_data["value"],
            user=request.user,  # type: ignore[arg-type]
            reason=form.cleaned_data["reason"],
        ),
    )


@require_POST
def line_item_add(request: HttpRequest, public_id: UUID) -> JsonResponse:
    document = _writable(request, public_id)
    if isinstance(document, JsonResponse):
        return document
    form = LineItemRowForm(request.POST)
    if not form.is_valid():
        return _form_error(form)
    return _answer(
        request,
        document,
        lambda: line_items.line_item_add(
            document=document,
            user=request.user,  # type: ignore[arg-type]
            after_line_id=form.cleaned_data["after"],
            reason=form.cleaned_data["reason"],
        ),
    )


@require_POST
def line_item_delete(
    request: HttpRequest, public_id: UUID, line_id: int
) -> JsonResponse:
    document = _writable(request, public_id)
    if isinstance(document, JsonResponse):
        return document
    form = LineItemRowForm(request.POST)
    if not form.is_valid():
        return _form_error(form)
    return _answer(
        request,
        document,
        lambda: line_items.line_item_delete(
            document=document,
            line_id=line_id,
            user=request.user,  # type: ignore[arg-type]
            reason=form.cleaned_data["reason"],
        ),
    )


@require_POST
def line_item_split(
    request: HttpRequest, public_id: UUID, line_id: int
) -> JsonResponse:
    document = _writable(request, public_id)
    if isinstance(document, JsonResponse):
        return document
    form = LineItemRowForm(request.POST)
    if not form.is_valid():
        return _form_error(form)
    return _answer(
        request,
        document,
        lambda: line_items.line_item_split(
            document=document,
            line_id=line_id,
            user=request.user,  # type: ignore[arg-type]
            first_quantity=form.cleaned_data["first_quantity"],
            reason=form.cleaned_data["reason"],
        ),
    )
