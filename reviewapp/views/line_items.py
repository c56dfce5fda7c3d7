"""The line-item grid's writes: thin adapters to reviewapp.services.line_items.

Each answers with the grid and the checks re-rendered, so the page shows the
new row checks and rule issues without a reload.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.http import HttpRequest, JsonResponse
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST

from reviewapp.forms import LineItemCellForm, LineItemRowForm
from reviewapp.models.documents import Document
from reviewapp.permissions import document_for, review_rights
from reviewapp.selectors.line_items import line_grid
from reviewapp.services.line_items import LineItemMissing, LineItemRefused
from reviewapp.services.line_items import line_item_add as line_items_line_item_add
from reviewapp.services.line_items import (
    line_item_delete as line_items_line_item_delete,
)
from reviewapp.services.line_items import line_item_split as line_items_line_item_split
from reviewapp.services.line_items import (
    line_item_update as line_items_line_item_update,
)
from reviewapp.services.review import ReviewRefused
from reviewapp.views.documents import checks_payload

# A change to make: the document, the form's cleaned data and the user.
Change = Callable[[Document, dict[str, Any], Any], object]


def _change(
    request: HttpRequest,
    public_id: UUID,
    form_class: type[LineItemCellForm] | type[LineItemRowForm],
    change: Change,
) -> JsonResponse:
    """Permission, form, one service call; then the grid and checks as they
    are now (or the refusal with its reason)."""
    document, can_write = document_for(request.user, public_id)
    if not can_write:
        return JsonResponse({"error": "You may not change this document."}, status=403)
    form = form_class(request.POST)
    if not form.is_valid():
        problems = [str(error) for errors in form.errors.values() for error in errors]
        return JsonResponse({"error": " ".join(problems)}, status=400)
    try:
        change(document, form.cleaned_data, request.user)
    except ReviewRefused as refusal:
        return JsonResponse({"error": refusal.reason}, status=409)
    except LineItemMissing as missing:
        return JsonResponse({"error": missing.reason}, status=404)
    except LineItemRefused as refused:
        return JsonResponse({"error": refused.reason}, status=400)
    document.refresh_from_db()
    grid = line_grid(document)
    context = {
        "document": document,
        "line_grid": grid,
        "can_write": review_rights(request.user, document).can_edit_fields,
    }
    return JsonResponse(
        {
            "grid_html": render_to_string(
                "reviewapp/partials/line_items.html", context, request=request
            ),
            "rows": grid["rows"],
            **checks_payload(request, document),
        }
    )


@require_POST
def line_item_update(
    request: HttpRequest, public_id: UUID, line_id: int
) -> JsonResponse:
    return _change(
        request,
        public_id,
        LineItemCellForm,
        lambda document, data, user: line_items_line_item_update(
            document=document,
            line_id=line_id,
            column=data["column"],
            value=data["value"],
            user=user,
            reason=data["reason"],
        ),
    )


@require_POST
def line_item_add(request: HttpRequest, public_id: UUID) -> JsonResponse:
    return _change(
        request,
        public_id,
        LineItemRowForm,
        lambda document, data, user: line_items_line_item_add(
            document=document,
            user=user,
            after_line_id=data["after"],
            reason=data["reason"],
        ),
    )


@require_POST
def line_item_delete(
    request: HttpRequest, public_id: UUID, line_id: int
) -> JsonResponse:
    return _change(
        request,
        public_id,
        LineItemRowForm,
        lambda document, data, user: line_items_line_item_delete(
            document=document, line_id=line_id, user=user, reason=data["reason"]
        ),
    )


@require_POST
def line_item_split(
    request: HttpRequest, public_id: UUID, line_id: int
) -> JsonResponse:
    return _change(
        request,
        public_id,
        LineItemRowForm,
        lambda document, data, user: line_items_line_item_split(
            document=document,
            line_id=line_id,
            user=user,
            first_quantity=data["first_quantity"],
            reason=data["reason"],
        ),
    )
