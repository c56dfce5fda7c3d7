"""Invoice line items from page layout: find the item table, read its rows.

A table is found by its header row (column keywords in English, German and
French: description, quantity, unit price, amount, VAT %); the header's
keyword positions give each column's x-range, and the rows below it are read
until a totals row ("Subtotal", "Summe netto" ...). Text rows between item rows
continue the description above them. A page without a recognisable header is
searched for rows that carry their own proof instead: "desc qty price amount"
where quantity x price = amount.

Confidence is earned: a row whose quantity x unit price equals its amount is
trusted more, and all rows more when their amounts add up to the subtotal the
field extractor read. That same sum decides between the header-based and the
header-less reading of a page when both find lines.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from pipeline.extract.layout import PageLayout, PlacedLine, layout_pages, row_box
from pipeline.extract.normalize import parse_amount
from pipeline.types import Box, ExtractedLine, PageText

# Column kinds a header keyword can name.
DESCRIPTION = "description"
ITEM_CODE = "item_code"
QUANTITY = "quantity"
UNIT_PRICE = "unit_price"
AMOUNT = "amount"
TAX_RATE = "tax_rate"
DISCOUNT = "discount"
POSITION = "position"
_NUMERIC_KINDS = frozenset({QUANTITY, UNIT_PRICE, AMOUNT, TAX_RATE, DISCOUNT})
_LINE_KINDS = frozenset({DESCRIPTION, QUANTITY, UNIT_PRICE, AMOUNT, TAX_RATE})

# German compounds ("Einzelpreis", "Zeilenbetrag") need stems without word
# boundaries; short English words need them ("net" is not "network").
_HEADER_KEYWORDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        (
            ITEM_CODE,
            r"art\.?-?\s?nr|item\s*(?:code|no\.?)|\bsku\b|article\s*no|"
            r"\bcode\b|r[ée]f[ée]rence|\bref\b",
        ),
        (
            TAX_RATE,
            r"tax\s*rate|vat\s*%|\bvat\b|\bust\b\.?|mwst|\btax(?:es)?\b|\btva\b|"
            r"steuer|\bgst\b",
        ),
        (DISCOUNT, r"rabatt|disc(?:ount)?\b|remise|\brem\."),
        (
            UNIT_PRICE,
            r"unit\s*price|prix\s*unitaire|\bprice\b|preis|\bprix\b|\bp\.\s?u\.|"
            r"\brate\b|\bunit\s*cost\b|unitaire|einzel",
        ),
        (
            QUANTITY,
            r"\bqty\b|quantit|menge|\bqt[ée]\b|anzahl|\bhours\b|\bstunden\b",
        ),
        (
            AMOUNT,
            r"amount|betrag|summe|montant|entgelt|\btotal\b|gesamt|\bnetto\b|"
            r"\bnet\b|\bsum\b|importe",
        ),
        (
            DESCRIPTION,
            r"descri|bezeichnung|beschreibung|d[ée]signation|produkt|product|"
            r"\bartikel\b|\barticle\b|\bitem\b|leistung|libell|\bservices?\b",
        ),
    )
)
_POSITION_HEADER = re.compile(r"(?i)pos\.?|#|nr\.?|no\.?|lfd\.?")
# A row starting with one of these, or holding one of the compound totals words
# anywhere, ends the table (or a section of it).
_TOTALS_ROW = re.compile(
    r"(?i)^\W*(?:sub\s*-?total|total|summe|zwischensumme|gesamt|positionssumme|"
    r"rechnungssumme|nettobetrag|netto\b|sous-total|montant\s+total|net\s+total|"
    r"übertrag|carried\s+forward|warenwert|amount\s+due|balance|taxe?\b)"
)
_TOTALS_WORDS = re.compile(
    r"(?i)zwischensumme|rechnungssumme|positionssumme|belegsumme|summe\s+netto|"
    r"sub\s*-?total|sous-total|total\s+ht|grand\s+total|gesamtbetrag|basisbetrag|"
    r"rechnungsrabatt|total\s+(?:eur|usd|chf|gbp|€|\$)"
)
_PERCENT = re.compile(r"^(\d{1,2}(?:[.,]\d{1,4})?)\s?%$")
_TIMES = re.compile(
    r"(?<![\d.,])(\d+(?:[.,]\d+)?)\s?[x×@]\s?(\d{1,3}(?:[.,]\d{3})*(?:[.,]\d{1,4})?)(?![\d])"
)
_GLUED_UNIT = re.compile(r"^(-?\d[\d.,]*)[A-Za-z]{1,5}\.?$")
_CURRENCY_TOKEN = re.compile(r"^(?:[$€£¥]|EUR|USD|GBP|CHF|S\$)$", re.IGNORECASE)
_ITEM_CODE_PREFIX = re.compile(r"^\s*[\[*]([A-Za-z0-9_./-]{2,})[\]*]\s*")

# Confidence of a row read under a header / found by arithmetic alone, before
# the arithmetic and subtotal checks adjust it.
HEADER_ROW_CONFIDENCE = 0.55
HEADERLESS_ROW_CONFIDENCE = 0.45
ARITHMETIC_BONUS = 0.3
ARITHMETIC_PENALTY = 0.15
SUBTOTAL_BONUS = 0.1
SUBTOTAL_PENALTY = 0.1
MAX_LAYOUT_CONFIDENCE = 0.95
# Rows further below the last item row than this many line heights are not
# a continuation of its description.
_CONTINUATION_GAP = 2.5
# How many rows after a section subtotal may pass before an item row resumes
# the table (a section title, an unpriced row, a description line ...).
_SECTION_GAP_ROWS = 5


def line_amount_matches(
    quantity: Decimal | None, unit_price: Decimal | None, amount: Decimal | None
) -> bool:
    """quantity x unit price = amount, to the cent (or 0.1 % on large lines,
    since prices are often printed with more decimals than the amount)."""
    if quantity is None or unit_price is None or amount is None:
        return False
    tolerance = max(Decimal("0.011"), abs(amount) * Decimal("0.001"))
    return abs(quantity * unit_price - amount) <= tolerance


@dataclass(frozen=True)
class _Token:
    text: str
    x0: float
    x1: float
    placed: PlacedLine


@dataclass(frozen=True)
class _Column:
    kind: str
    x0: float
    x1: float


@dataclass
class _Row:
    """A line item being read: the item row plus its continuation rows."""

    description: list[str]
    numbers: dict[str, Decimal]
    spare: list[Decimal]  # numbers in no line column, for the arithmetic search
    item_code: str
    boxes: list[Box]
    page_number: int
    bottom: int
    height: int
    confidence: float


def _tokens(row: Sequence[PlacedLine]) -> list[_Token]:
    """Words of a row with their x-range, interpolated inside each box (a text
    layer often gives "9,9000 20 Stk 19 % 198,00" as one box)."""
    tokens: list[_Token] = []
    for placed in row:
        text = placed.line.text
        x0, x1 = placed.box[0], placed.box[2]
        per_char = (x1 - x0) / max(len(text), 1)
        for match in re.finditer(r"\S+", text):
            tokens.append(
                _Token(
                    match.group(),
                    x0 + match.start() * per_char,
                    x0 + match.end() * per_char,
                    placed,
                )
            )
    # "19 %" is one rate; "$ 70.00" one amount.
    merged: list[_Token] = []
    for token in tokens:
        if merged and token.text == "%" and _number(merged[-1].text) is not None:
            last = merged.pop()
            token = _Token(last.text + "%", last.x0, token.x1, last.placed)
        merged.append(token)
    return merged


def _number(text: str) -> Decimal | None:
    if not re.search(r"\d", text) or re.search(r"[A-Za-z]{2,}", text):
        return None
    value = parse_amount(text.strip("€$£*"))
    # Thirteen digits are a GTIN, not money.
    return value if value is not None and abs(value) < 10**9 else None


def _rate(text: str) -> Decimal | None:
    found = _PERCENT.match(text)
    return parse_amount(found.group(1)) if found else None


# --- the header ----------------------------------------------------------------


def _header_columns(row: Sequence[PlacedLine]) -> list[_Column]:
    """Column keywords found in a row, each with its x-range; overlapping
    matches keep the longest (so "Nettopreis" is a price, not a net amount)."""
    found: list[tuple[int, int, str, PlacedLine]] = []
    for placed in row:
        text = placed.line.text
        if _POSITION_HEADER.fullmatch(text.strip()):
            found.append((0, len(text), POSITION, placed))
            continue
        for kind, pattern in _HEADER_KEYWORDS:
            for match in pattern.finditer(text):
                found.append((match.start(), match.end(), kind, placed))
    found.sort(key=lambda item: (id(item[3]), item[0], -(item[1] - item[0])))
    columns: list[_Column] = []
    kept: list[tuple[int, int, PlacedLine]] = []
    for start, end, kind, placed in found:
        if any(p is placed and start < e and s < end for s, e, p in kept):
            continue
        kept.append((start, end, placed))
        text = placed.line.text
        x0, x1 = placed.box[0], placed.box[2]
        per_char = (x1 - x0) / max(len(text), 1)
        columns.append(_Column(kind, x0 + start * per_char, x0 + end * per_char))
    return columns


def _find_header(layout: PageLayout) -> tuple[int, list[_Column]] | None:
    """The row index and columns of the item table's header, or None.

    A header names at least three kinds of line column and holds no amounts;
    keywords printed on the rows just above or below it (a two-line "Positions /
    betrag") add the columns it lacks.
    """
    best: tuple[int, list[_Column]] | None = None
    best_kinds = 2
    for index, row in enumerate(layout.rows):
        columns = _header_columns(row)
        kinds = {c.kind for c in columns} & _LINE_KINDS
        if len(kinds) <= best_kinds or not kinds & {AMOUNT, UNIT_PRICE}:
            continue
        if any(_number(t.text) is not None for t in _tokens(row) if "." in t.text):
            continue
        best, best_kinds = (index, columns), len(kinds)
    if best is None:
        return None
    index, columns = best
    height = max(p.height for p in layout.rows[index])
    top, bottom = layout.rows[index][0].box[1], layout.rows[index][0].box[3]
    for neighbour in layout.rows[max(index - 3, 0) : index + 2]:
        y = neighbour[0].box[1]
        if (
            neighbour is layout.rows[index]
            or not top - 3 * height <= y <= bottom + 2 * height
            or any(_number(t.text) is not None for t in _tokens(neighbour))
        ):
            continue
        for extra in _header_columns(neighbour):
            if not any(extra.x0 < c.x1 and c.x0 < extra.x1 for c in columns):
                columns.append(extra)
    return index, _resolve_duplicates(sorted(columns, key=lambda c: c.x0))


def _resolve_duplicates(columns: list[_Column]) -> list[_Column]:
    """Headers reuse words: "Prix unitaire ... Prix HT" names a price and the
    line amount; "Amount ... Price ... Total" a quantity, a price and the line
    amount. The rightmost column of a kind keeps it; a spare price column
    becomes the missing amount, a spare amount column the missing quantity."""
    kinds = [c.kind for c in columns]
    prices = [i for i, k in enumerate(kinds) if k == UNIT_PRICE]
    if len(prices) > 1 and AMOUNT not in kinds:
        kinds[prices[-1]] = AMOUNT
    amounts = [i for i, k in enumerate(kinds) if k == AMOUNT]
    if len(amounts) > 1 and QUANTITY not in kinds:
        kinds[amounts[0]] = QUANTITY
    return [
        _Column(kind, column.x0, column.x1)
        for kind, column in zip(kinds, columns, strict=True)
    ]


def _column_of(token: _Token, columns: Sequence[_Column]) -> _Column:
    """The header column nearest the token: overlapping ones first, by overlap."""

    def distance(column: _Column) -> tuple[float, float]:
        overlap = min(token.x1, column.x1) - max(token.x0, column.x0)
        gap = max(column.x0 - token.x1, token.x0 - column.x1, 0.0)
        return (gap, -overlap)

    return min(columns, key=distance)


# --- reading rows ----------------------------------------------------------------


def _table_left(columns: Sequence[_Column]) -> float:
    return min(c.x0 for c in columns)


def _in_margin(placed: PlacedLine, table_left: float) -> bool:
    """Text rotated up the page margin arrives as a column of one- to four-
    letter boxes left of the table; descriptions may start left of their
    (centred) header, but are longer."""
    return placed.box[2] < table_left and len(placed.line.text.strip()) <= 4


def _is_totals_row(row: Sequence[PlacedLine], table_left: float) -> bool:
    text = " ".join(p.line.text for p in row if not _in_margin(p, table_left))
    return bool(_TOTALS_ROW.match(text) or _TOTALS_WORDS.search(text))


def _read_row(
    row: Sequence[PlacedLine], columns: Sequence[_Column]
) -> tuple[list[str], dict[str, Decimal], list[Decimal]]:
    """Description words, numbers by column kind and numbers in no column."""
    words: list[str] = []
    numbers: dict[str, Decimal] = {}
    spare: list[Decimal] = []
    table_left = _table_left(columns)
    for token in _tokens(row):
        if _in_margin(token.placed, table_left):
            continue
        kind = _column_of(token, columns).kind
        rate, number = _rate(token.text), _number(token.text)
        if kind == QUANTITY and number is None:
            # "15.00g", "3Stk": a unit glued to the quantity.
            glued = _GLUED_UNIT.match(token.text)
            number = _number(glued.group(1)) if glued else None
        if kind == TAX_RATE and (rate is not None or number is not None):
            numbers.setdefault(TAX_RATE, rate if rate is not None else number)  # type: ignore[arg-type]
        elif rate is not None:
            numbers.setdefault(TAX_RATE, rate)
        elif kind in _NUMERIC_KINDS and number is not None:
            if kind in numbers:
                spare.append(number)
            else:
                numbers[kind] = number
        elif kind in (DESCRIPTION, ITEM_CODE):
            words.append(token.text)
        elif number is not None:
            spare.append(number)
    # "12 x 24.90" names quantity and price outright, whichever column heading
    # the pair sits under; the product must be the amount ("3.5x10 in" in a
    # description is a size).
    for times in _TIMES.finditer(" ".join(p.line.text for p in row)):
        quantity, price = _number(times.group(1)), _number(times.group(2))
        if line_amount_matches(quantity, price, numbers.get(AMOUNT)):
            numbers[QUANTITY], numbers[UNIT_PRICE] = quantity, price  # type: ignore[assignment]
    return words, numbers, spare


def _settle_arithmetic(
    numbers: dict[str, Decimal], spare: Sequence[Decimal], *, free_pairs: bool
) -> str:
    """Fill or correct quantity and unit price so quantity x price = amount,
    using the row's other numbers. Returns "as_read" when the columns already
    agree, "searched" when other numbers of the row made them agree, "" when
    nothing does. `free_pairs` lets two numbers in no column be the pair."""
    amount = numbers.get(AMOUNT)
    if amount is None:
        return ""
    quantity, price = numbers.get(QUANTITY), numbers.get(UNIT_PRICE)
    if line_amount_matches(quantity, price, amount):
        return "as_read"
    discount = numbers.get(DISCOUNT)
    if (
        discount is not None
        and price is not None
        and line_amount_matches(quantity, price * (1 - discount / 100), amount)
    ):
        return "as_read"  # "1.00 x 1.00 less 10 % = 0.90"
    pool = [n for n in (quantity, price, *spare) if n is not None]
    if price is not None:
        for candidate in pool:
            if candidate is not price and line_amount_matches(candidate, price, amount):
                numbers[QUANTITY] = candidate
                return "searched"
    if quantity is not None:
        for candidate in pool:
            if candidate is not quantity and line_amount_matches(
                quantity, candidate, amount
            ):
                numbers[UNIT_PRICE] = candidate
                return "searched"
    if not free_pairs:
        return ""
    for i, first in enumerate(pool):
        for second in pool[i + 1 :]:
            if line_amount_matches(first, second, amount):
                numbers[QUANTITY], numbers[UNIT_PRICE] = first, second
                return "searched"
    return ""


def _split_item_code(words: list[str]) -> tuple[str, str]:
    text = " ".join(words)
    found = _ITEM_CODE_PREFIX.match(text)
    if found:
        return found.group(1), text[found.end() :].strip()
    return "", text


def _new_row(
    row: Sequence[PlacedLine],
    words: list[str],
    numbers: dict[str, Decimal],
    consistent: bool,
    base: float,
) -> _Row:
    code, _ = _split_item_code(words)
    confidence = base
    if consistent:
        confidence += ARITHMETIC_BONUS
    elif QUANTITY in numbers and UNIT_PRICE in numbers:
        confidence -= ARITHMETIC_PENALTY
    box = row_box(row)
    return _Row(
        description=list(words),
        numbers=numbers,
        spare=[],
        item_code=code,
        boxes=[box],
        page_number=row[0].page_number,
        bottom=box[3],
        height=max(p.height for p in row),
        confidence=confidence,
    )


def _table_rows(layout: PageLayout, header: int, columns: list[_Column]) -> list[_Row]:
    """Item rows under a header, up to the totals row. A section subtotal in
    the middle of the table ends it only if no row with sound arithmetic
    follows within a few rows."""
    found: list[_Row] = []
    description_end = min(
        (c.x0 for c in columns if c.kind in _NUMERIC_KINDS), default=float("inf")
    )
    kinds = {c.kind for c in columns}
    table_left = _table_left(columns)
    ended_at: int | None = None
    for index in range(header + 1, len(layout.rows)):
        row = layout.rows[index]
        if _is_totals_row(row, table_left):
            ended_at = ended_at if ended_at is not None else index
            continue
        words, numbers, spare = _read_row(row, columns)
        if AMOUNT not in kinds and UNIT_PRICE in numbers:
            # A table without an amount column bills price x quantity.
            numbers[AMOUNT] = numbers[UNIT_PRICE] * numbers.get(QUANTITY, Decimal(1))
        arithmetic = _settle_arithmetic(
            numbers, spare, free_pairs=not {QUANTITY, UNIT_PRICE} <= kinds
        )
        if ended_at is not None:
            # After a section subtotal only an item row with sound arithmetic
            # resumes the table; a footer seldom multiplies out.
            if index - ended_at > _SECTION_GAP_ROWS:
                break
            if not arithmetic or not words:
                continue
            ended_at = None
        priced = QUANTITY in numbers or UNIT_PRICE in numbers
        if AMOUNT in numbers and (priced or words):
            found.append(
                _new_row(row, words, numbers, bool(arithmetic), HEADER_ROW_CONFIDENCE)
            )
        elif (
            found
            and not numbers
            and words
            and row[0].box[0] < description_end
            and row[0].box[1] - found[-1].bottom <= _CONTINUATION_GAP * found[-1].height
        ):
            item = found[-1]
            item.description.extend(words)
            item.boxes.append(row_box(row))
            item.bottom = row_box(row)[3]
    return found


def _headerless_rows(layout: PageLayout) -> list[_Row]:
    """Rows reading "description quantity price amount" whose arithmetic holds."""
    found: list[_Row] = []
    for row in layout.rows:
        tokens = _tokens(row)
        values = [(t, _number(t.text)) for t in tokens]
        numbers = [(t, v) for t, v in values if v is not None and _rate(t.text) is None]
        if len(numbers) < 3:
            continue
        amount = numbers[-1][1]
        if amount is None or amount == 0:
            continue
        settled: dict[str, Decimal] = {AMOUNT: amount}
        others = [v for _, v in numbers[:-1] if v is not None]
        if not _settle_arithmetic(settled, others, free_pairs=True):
            continue
        first_number = numbers[0][0].x0
        words = [
            t.text
            for t, v in values
            if v is None
            and t.x1 <= first_number
            and not _CURRENCY_TOKEN.match(t.text)
            and _rate(t.text) is None
        ]
        if not words:
            continue
        rate = next((r for t in tokens if (r := _rate(t.text)) is not None), None)
        if rate is not None:
            settled[TAX_RATE] = rate
        found.append(_new_row(row, words, settled, True, HEADERLESS_ROW_CONFIDENCE))
    return found


def _finish(rows: Sequence[_Row], source: str, explanation: str) -> list[ExtractedLine]:
    lines = []
    for position, row in enumerate(rows, start=1):
        code, description = _split_item_code(row.description)
        boxes = row.boxes
        lines.append(
            ExtractedLine(
                position=position,
                # \x02 is how some text layers print a hyphen at a line break.
                description=" ".join(description.replace("\x02 ", "-").split()),
                quantity=row.numbers.get(QUANTITY),
                unit_price=row.numbers.get(UNIT_PRICE),
                amount=row.numbers.get(AMOUNT),
                tax_rate=plain_decimal(row.numbers.get(TAX_RATE)),
                item_code=code or row.item_code,
                confidence=row.confidence,
                page_number=row.page_number,
                box=(
                    min(b[0] for b in boxes),
                    min(b[1] for b in boxes),
                    max(b[2] for b in boxes),
                    max(b[3] for b in boxes),
                ),
                source=source,  # type: ignore[arg-type]
                explanation=explanation,
            )
        )
    return lines


def plain_decimal(value: Decimal | None) -> Decimal | None:
    """19.00 -> 19, 5.50 -> 5.5, without the exponent `normalize` gives 20."""
    if value is None:
        return None
    if value == value.to_integral():
        return value.quantize(Decimal(1))
    return value.normalize()


def _lines_sum(lines: Sequence[ExtractedLine]) -> Decimal:
    return sum((line.amount or Decimal(0) for line in lines), Decimal(0))


def _sums_to(lines: Sequence[ExtractedLine], subtotal: Decimal | None) -> bool:
    if subtotal is None or not lines:
        return False
    return abs(_lines_sum(lines) - subtotal) <= Decimal("0.011") * len(lines)


def with_subtotal_check(
    lines: Sequence[ExtractedLine], subtotal: Decimal | None
) -> tuple[ExtractedLine, ...]:
    """Raise every line's confidence when the lines add up to the subtotal, and
    lower it when a subtotal is known and they do not."""
    if subtotal is None or not lines:
        return tuple(lines)
    change = SUBTOTAL_BONUS if _sums_to(lines, subtotal) else -SUBTOTAL_PENALTY
    return tuple(
        replace(
            line,
            confidence=round(
                min(max(line.confidence + change, 0.0), MAX_LAYOUT_CONFIDENCE), 3
            ),
        )
        for line in lines
    )


def extract_line_items(
    pages: Sequence[PageText], *, subtotal: Decimal | None = None
) -> tuple[ExtractedLine, ...]:
    """The line items printed on a document's pages, in reading order.

    `subtotal` (the net amount the field extractor read, if any) re-ranks the
    two readings and adjusts confidence. Never raises on odd text; a document
    without a recognisable item table has no lines.
    """
    layouts = [layout for layout in layout_pages(pages) if layout.rows]
    source = pages[0].source if pages else "pdf_text"
    with_header: list[_Row] = []
    without_header: list[_Row] = []
    for layout in layouts:
        header = _find_header(layout)
        if header is not None:
            with_header.extend(_table_rows(layout, *header))
        without_header.extend(_headerless_rows(layout))
    by_header = _finish(with_header, source, "read from the item table's columns")
    by_arithmetic = _finish(
        without_header, source, "a row where quantity x unit price = amount"
    )
    if subtotal is not None and not _sums_to(by_arithmetic, subtotal):
        # Rows found by arithmetic alone are a sample, not the table, unless
        # they add up: a receipt with one line missed would otherwise fail
        # "lines sum to subtotal" for no fault of the sender.
        by_arithmetic = []
    chosen = by_header or by_arithmetic
    if (
        by_header
        and not _sums_to(by_header, subtotal)
        and _sums_to(by_arithmetic, subtotal)
    ):
        chosen = by_arithmetic
    return with_subtotal_check(chosen, subtotal)
