"""Where a freshly read document goes: approved straight through, the clerks'
queue, or the supervisors' exception queue. A pure decision on the document's
fields and its latest validation issues; services apply it."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Protocol

from reviewapp import review_reasons

APPROVE = "approve"
CLERKS = "clerks"
SUPERVISORS = "supervisors"

# Checks whose failure a clerk cannot settle by reading the page again: the
# document disagrees with master data or other documents, so a supervisor
# decides. The other checks (required fields, formats, arithmetic, dates,
# identifiers, an unknown vendor) are usually a misread a clerk corrects.
EXCEPTION_RULES = frozenset(
    {
        "currency_expected",
        "purchase_order_known",
        "two_way_match",
        "three_way_match",
        "duplicate_invoice",
        "bank_details_unchanged",
    }
)
# The escalation reason a supervisor sees for the first exception's rule: the
# queue names what is wrong in its own words, never a rule's code.
ESCALATION_REASON_BY_RULE = {
    "duplicate_invoice": "duplicate",
    "bank_details_unchanged": "bank_details",
    "two_way_match": "po_mismatch",
    "three_way_match": "not_received",
    "purchase_order_known": "unknown_po",
    "currency_expected": "unexpected_currency",
}
RULE_EXCEPTION_REASON = "rule_exception"


class IssueLike(Protocol):
    rule: str
    code: str
    severity: str
    message: str
    needs_supervisor: bool


@dataclass(frozen=True)
class Route:
    destination: str  # APPROVE, CLERKS or SUPERVISORS
    escalation_reason: str = ""  # Document.EscalationReason value for SUPERVISORS
    explanation: str = ""


def amount_of(value: str) -> Decimal | None:
    """A normalised amount ("1234.50"), or None when there is none."""
    try:
        return Decimal(value) if value else None
    except InvalidOperation:
        return None


def is_exception(issue: IssueLike) -> bool:
    """An issue only a supervisor settles."""
    return issue.needs_supervisor or (
        issue.severity == "error" and issue.rule in EXCEPTION_RULES
    )


def route_for(
    *,
    document_type: str,
    fields: Iterable[tuple[str, str, float | None]],
    issues: Iterable[IssueLike],
    flag_below: float | Mapping[str, float],
    straight_through_types: Collection[str],
    straight_through_max_amount: Decimal,
    document_type_sure: bool = True,
) -> Route:
    """Decide where a document goes after reading and validation.

    Straight through: a document type that allows it, every field auto-accepted
    (the review page flags none), no error at all, and a total no higher than
    the straight-through limit. Rule exceptions go to supervisors with the
    failing check as the reason; everything else to the clerks.
    """
    fields = list(fields)
    issues = list(issues)
    exceptions = [issue for issue in issues if is_exception(issue)]
    if exceptions:
        first = exceptions[0]
        return Route(
            SUPERVISORS,
            escalation_reason=ESCALATION_REASON_BY_RULE.get(
                first.rule,
                "bank_details" if first.needs_supervisor else RULE_EXCEPTION_REASON,
            ),
            # Plain sentences: the note is shown to people as it is.
            explanation=" ".join(issue.message for issue in exceptions),
        )
    if not document_type_sure:
        return Route(CLERKS, explanation="the kind of document is unsure")
    if document_type not in straight_through_types:
        return Route(CLERKS, explanation=f"{document_type} is always checked")
    if any(issue.severity == "error" for issue in issues):
        return Route(CLERKS, explanation="a check failed")
    if review_reasons.reason_for(fields, flag_below=flag_below) != (
        review_reasons.ROUTINE
    ):
        return Route(CLERKS, explanation="a field is missing or unsure")
    total = amount_of(next((v for n, v, _ in fields if n == "total_amount"), ""))
    if total is None or total > straight_through_max_amount:
        return Route(CLERKS, explanation="the total is over the straight-through limit")
    return Route(APPROVE, explanation="every field sure, every check passed")
