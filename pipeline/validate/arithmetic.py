"""Rules that redo the invoice's sums: lines, subtotal, tax and total.

Amounts are Decimals throughout; a difference up to the configured tolerance
is rounding, not an error. A rule whose inputs are missing finds nothing:
`required_fields` and `field_formats` report missing and unreadable values.
"""

from __future__ import annotations

from decimal import Decimal

from pipeline.validate.types import (
    SUBTOTAL_AMOUNT,
    TAX_AMOUNT,
    TOTAL_AMOUNT,
    InvoiceData,
    Issue,
    ValidationContext,
)
from pipeline.validate.wording import line_field, line_label, money, quantity


def line_amounts(invoice: InvoiceData, context: ValidationContext) -> list[Issue]:
    """Each line's amount equals its quantity times its unit price."""
    tolerance = context.tolerances.line_amount
    issues = []
    for index, line in enumerate(invoice.line_items):
        if line.quantity is None or line.unit_price is None or line.amount is None:
            continue
        expected = line.quantity * line.unit_price
        difference = line.amount - expected
        if abs(difference) <= tolerance:
            continue
        issues.append(
            Issue(
                code="line_amount_mismatch",
                severity="error",
                fields=(
                    line_field(index, "quantity"),
                    line_field(index, "unit_price"),
                    line_field(index, "amount"),
                ),
                message=(
                    f"{line_label(index, line.description)}: "
                    f"{quantity(line.quantity)} × {money(line.unit_price)} = "
                    f"{money(expected)}, but the line amount reads "
                    f"{money(line.amount)}."
                ),
                details={
                    "line": index,
                    "expected": money(expected),
                    "found": money(line.amount),
                    "difference": money(difference),
                },
            )
        )
    return issues


def lines_sum_to_subtotal(
    invoice: InvoiceData, context: ValidationContext
) -> list[Issue]:
    """The line amounts add up to the subtotal.

    Without a subtotal, and with no tax printed, the lines must add up to the
    total instead. Skipped when any line has no amount.
    """
    lines = invoice.line_items
    if not lines or any(line.amount is None for line in lines):
        return []
    target = SUBTOTAL_AMOUNT
    printed = invoice.amount(SUBTOTAL_AMOUNT)
    # "0.00" tax is no tax: the lines then make the total directly.
    if printed is None and not invoice.amount(TAX_AMOUNT):
        target, printed = TOTAL_AMOUNT, invoice.amount(TOTAL_AMOUNT)
    if printed is None:
        return []
    line_sum = sum((line.amount or Decimal(0) for line in lines), Decimal(0))
    difference = printed - line_sum
    if abs(difference) <= context.tolerances.document_total:
        return []
    name = "subtotal" if target == SUBTOTAL_AMOUNT else "total"
    return [
        Issue(
            code="lines_do_not_sum",
            severity="error",
            fields=(target, *(line_field(i, "amount") for i in range(len(lines)))),
            message=(
                f"The {len(lines)} line amounts add up to {money(line_sum)}, "
                f"but the {name} reads {money(printed)} "
                f"(a difference of {money(difference)})."
            ),
            details={
                "target": target,
                "lines_sum": money(line_sum),
                "found": money(printed),
                "difference": money(difference),
            },
        )
    ]


def totals_add_up(invoice: InvoiceData, context: ValidationContext) -> list[Issue]:
    """Subtotal + tax = total."""
    subtotal = invoice.amount(SUBTOTAL_AMOUNT)
    tax = invoice.amount(TAX_AMOUNT)
    total = invoice.amount(TOTAL_AMOUNT)
    if subtotal is None or tax is None or total is None:
        return []
    expected = subtotal + tax
    difference = total - expected
    if abs(difference) <= context.tolerances.document_total:
        return []
    return [
        Issue(
            code="total_mismatch",
            severity="error",
            fields=(SUBTOTAL_AMOUNT, TAX_AMOUNT, TOTAL_AMOUNT),
            message=(
                f"Subtotal {money(subtotal)} + tax {money(tax)} = "
                f"{money(expected)}, but the total reads {money(total)}."
            ),
            details={
                "expected": money(expected),
                "found": money(total),
                "difference": money(difference),
            },
        )
    ]


def tax_matches_rates(invoice: InvoiceData, context: ValidationContext) -> list[Issue]:
    """The tax amount matches the lines' tax rates applied to their amounts.

    Only checked when every line has an amount and a rate. Vendors round per
    line or per rate, so the tolerance grows with the number of lines.
    """
    lines = invoice.line_items
    tax = invoice.amount(TAX_AMOUNT)
    if tax is None or not lines:
        return []
    if any(line.amount is None or line.tax_rate is None for line in lines):
        return []
    expected = sum(
        (
            (line.amount or Decimal(0)) * (line.tax_rate or Decimal(0)) / 100
            for line in lines
        ),
        Decimal(0),
    )
    difference = tax - expected
    tolerance = max(
        context.tolerances.document_total, context.tolerances.line_amount * len(lines)
    )
    if abs(difference) <= tolerance:
        return []
    rates = sorted({line.tax_rate for line in lines if line.tax_rate is not None})
    rate_text = ", ".join(f"{quantity(rate)} %" for rate in rates)
    return [
        Issue(
            code="tax_rate_mismatch",
            severity="warning",
            fields=(TAX_AMOUNT,),
            message=(
                f"Tax at {rate_text} on the lines comes to {money(expected)}, "
                f"but the tax amount reads {money(tax)}."
            ),
            details={
                "expected": money(expected),
                "found": money(tax),
                "difference": money(difference),
            },
        )
    ]
