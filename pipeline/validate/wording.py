"""How numbers, lines and bank accounts read in issue messages."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def money(value: Decimal) -> str:
    """An amount with two decimals, as on the invoice: 119 -> "119.00".

    The same as `pipeline.extract.normalize.format_amount`, which cannot be
    imported here: pipeline.extract imports pipeline.registry, which imports
    these rules.
    """
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):f}"


def quantity(value: Decimal) -> str:
    """A quantity without trailing zeros: Decimal("10.000") -> "10"."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def percent(value: Decimal) -> str:
    return f"{quantity(value.quantize(Decimal('0.1')))} %"


def compact_iban(iban: str) -> str:
    """IBAN without spaces, upper case, as stored and compared."""
    return "".join(iban.split()).upper()


def mask_iban(iban: str) -> str:
    """Country and last four characters only: "DE89370400440532013000" ->
    "DE…3000". A full IBAN is sensitive and never goes into a message."""
    compact = compact_iban(iban)
    if len(compact) <= 6:
        return compact[:2] + "…"
    return f"{compact[:2]}…{compact[-4:]}"


def line_label(index: int, description: str) -> str:
    """ "Line 2 (Widget A)" for the 0-based line `index`."""
    name = " ".join(description.split())
    if len(name) > 40:
        name = name[:39] + "…"
    return f"Line {index + 1} ({name})" if name else f"Line {index + 1}"


def line_field(index: int, name: str) -> str:
    """The field path of a line value, 0-based: "line_items[1].quantity"."""
    return f"line_items[{index}].{name}"
