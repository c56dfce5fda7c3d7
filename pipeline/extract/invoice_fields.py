"""The invoice fields beyond vendor, number, date, total and currency: values
found next to their printed label (same line, right of it, or below it), bank
and tax identifiers recognised by their check digits, the vendor's address under
its name, and amounts checked against each other (subtotal + tax = total).

Every function takes page layouts and returns scored candidates or a chosen
FieldValue; none raises on odd text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from pipeline.extract.candidates import Candidate, amounts_in, choose, id_token
from pipeline.extract.layout import PageLayout, PlacedLine
from pipeline.extract.normalize import (
    compact_identifier,
    find_dates,
    format_amount,
    iban_is_valid,
    normalize_bic,
    normalize_iban,
    normalize_vat_id,
    vat_id_is_checkable,
    vat_id_is_valid,
)
from pipeline.types import Box, FieldValue


@dataclass(frozen=True)
class Label:
    pattern: re.Pattern[str]
    weight: float


def _labels(*pairs: tuple[str, float]) -> tuple[Label, ...]:
    return tuple(
        Label(re.compile(r"(?<![A-Za-zÀ-ÿ])(?:" + pattern + ")", re.IGNORECASE), weight)
        for pattern, weight in pairs
    )


@dataclass(frozen=True)
class LabelledText:
    """Text where a labelled value may be printed, and where it sits."""

    label: str
    text: str
    placed: PlacedLine
    where: str
    location_weight: float


def labelled_texts(
    layouts: Sequence[PageLayout],
    labels: Sequence[Label],
    *,
    exclude: re.Pattern[str] | None = None,
    below: bool = True,
) -> Iterator[tuple[LabelledText, float]]:
    """For every printed label (strongest per line): the rest of its line, the
    boxes right of it on the same row, and the box below it, in that order,
    with the label's weight."""
    for layout in layouts:
        for placed in layout.lines:
            text = placed.line.text
            if exclude is not None and exclude.search(text):
                continue
            found = [(label.pattern.search(text), label.weight) for label in labels]
            matches = [(match, weight) for match, weight in found if match]
            if not matches:
                continue
            match, weight = max(matches, key=lambda item: item[1])
            name = match.group(0).strip()
            rest = text[match.end() :].strip().lstrip(":#.-– ").strip()
            if rest:
                yield LabelledText(name, rest, placed, "on the same line", 1.0), weight
            for other in layout.right_of(placed)[:2]:
                far = other.box[0] - placed.box[2] > 0.3 * layout.page.width
                if far or _OTHER_LABEL.match(other.line.text):
                    break  # the row moves on to another column or label
                yield (
                    LabelledText(name, other.line.text, other, "right of it", 0.95),
                    weight,
                )
            if below:
                for other in layout.below(placed)[:1]:
                    yield (
                        LabelledText(name, other.line.text, other, "below it", 0.8),
                        weight,
                    )


_OTHER_LABEL = re.compile(r"^\s*[A-Za-zÀ-ÿ][\w .#/-]{1,30}:")


def _explain(found: LabelledText) -> str:
    return f"after label '{found.label}', {found.where}"


# --- dates and references ------------------------------------------------------

_DUE_DATE_LABELS = _labels(
    (r"due\s*date|date\s*due|payment\s*due|due\s*(?:by|on)", 1.0),
    (r"pay(?:able)?\s*by|zahlbar\s*bis|f[äa]llig(?:keit|\s*am)?|zahlungsziel", 0.95),
    (r"(?:date\s*d')?[ée]ch[ée]ance|date\s*limite", 0.95),
    (r"(?:data\s*)?scadenza|vervaldatum|(?:fecha\s*de\s*)?vencimiento", 0.95),
    (r"\bdue\b", 0.7),
)


def due_date(
    layouts: Sequence[PageLayout], day_first: bool, invoice_date: FieldValue | None
) -> FieldValue | None:
    candidates = []
    for found, weight in labelled_texts(layouts, _DUE_DATE_LABELS):
        for match in find_dates(found.text, day_first=day_first)[:1]:
            candidates.append(
                Candidate(
                    value=match.value.isoformat(),
                    raw_value=match.raw,
                    score=0.92 * weight * found.location_weight,
                    placed=found.placed,
                    explanation=_explain(found),
                )
            )
    chosen = choose("due_date", candidates)
    if chosen is None or invoice_date is None:
        return chosen
    if date.fromisoformat(chosen.value) < date.fromisoformat(invoice_date.value):
        # An invoice is not due before it is issued: one of the two is wrong.
        return replace(
            chosen,
            confidence=round(chosen.confidence * 0.5, 3),
            explanation=f"{chosen.explanation}; but before the invoice date",
        )
    return chosen


_PO_LABELS = _labels(
    (r"purchase\s*order(?:\s*(?:no|number|nr|#|ref))?\.?", 1.0),
    (
        r"(?:customer\s*|client\s*|your\s*)?p\.?\s*o\.?(?!\s*box)\s*(?:no|nr|number|#)\.?",
        1.0,
    ),
    (r"(?:customer\s*|client\s*|your\s*)?p\.?o\.?(?=\s*[:#])(?!\s*box)", 0.9),
    (r"bestell(?:nummer|nr\.?|ung\s*nr\.?|ung)|ihre\s*bestellung", 0.95),
    (r"(?:bon\s*de\s*)?commande\s*(?:n°|no|nº)?|order\s*(?:no|nr|number|#)\.?", 0.8),
    (r"your\s*(?:order|ref(?:erence)?)", 0.7),
)


def po_number(layouts: Sequence[PageLayout]) -> FieldValue | None:
    candidates = []
    for found, weight in labelled_texts(layouts, _PO_LABELS):
        token = id_token(found.text)
        if token is None or find_dates(token):
            continue
        shape = 1.0 if len(token) >= 4 else 0.7
        candidates.append(
            Candidate(
                value=token.upper(),
                raw_value=token,
                score=0.88 * weight * found.location_weight * shape,
                placed=found.placed,
                explanation=_explain(found),
            )
        )
    return choose("po_number", candidates)


_TERMS_LABELS = _labels(
    (r"payment\s*terms?|terms\s*of\s*payment|terms(?=\s*:)", 1.0),
    (r"zahlungs(?:bedingungen|ziel|konditionen)", 1.0),
    (r"conditions?\s*de\s*(?:paiement|r[èe]glement)|modalit[ée]s\s*de\s*paiement", 1.0),
)
_TERMS_PHRASE = re.compile(
    r"(?i)\bnet\s*\d{1,3}(?:\s*days)?\b|payable\s*within\s*\d+\s*days"
    r"|zahlbar\s*(?:innerhalb|sofort|ohne\s*abzug)[^.]*|due\s*on\s*receipt"
    r"|payable\s*(?:on|upon)\s*receipt|[àa]\s*r[ée]ception"
)


def payment_terms(layouts: Sequence[PageLayout]) -> FieldValue | None:
    candidates = []
    for found, weight in labelled_texts(layouts, _TERMS_LABELS):
        text = " ".join(found.text.split())
        if sum(ch.isalnum() for ch in text) < 3:
            continue
        candidates.append(
            Candidate(
                value=text,
                raw_value=text,
                score=0.8 * weight * found.location_weight,
                placed=found.placed,
                explanation=_explain(found),
            )
        )
    if not candidates:
        for layout in layouts:
            for placed in layout.lines:
                match = _TERMS_PHRASE.search(placed.line.text)
                if match:
                    phrase = " ".join(match.group(0).split())
                    candidates.append(
                        Candidate(
                            value=phrase,
                            raw_value=phrase,
                            score=0.6,
                            placed=placed,
                            explanation="payment terms wording, no label",
                        )
                    )
    return choose("payment_terms", candidates)


# --- amounts -------------------------------------------------------------------

_SUBTOTAL_LABELS = _labels(
    (r"sub\s*-?\s*total", 1.0),
    (r"total\s*(?:excl\.?|excluding|ex\.?|before\s*tax|h\.?t\.?|net)(?![a-z])", 1.0),
    (r"nettobetrag|netto\s*summe|summe\s*netto|gesamt\s*netto|netto(?:wert)?", 0.95),
    (r"(?:rechnungs)?summe\s*ohne\s*(?:ust|mwst|steuer)", 0.95),
    (r"montant\s*h\.?t|total\s*hors\s*taxes?|warenwert", 0.95),
    (r"(?:totale\s*)?imponibile|base\s*imponible|subtotaal|totaal\s*excl", 0.95),
    (r"net\s*(?:amount|value|total)|amount\s*(?:excl|before\s*tax)", 0.7),
)
_TAX_LABELS = _labels(
    (r"total\s*(?:vat|tax|gst|sst|tva|mwst)|(?:vat|tax|gst|tva)\s*amount", 1.0),
    (r"steuerbetrag|(?:ust|mwst)\.?\s*-?\s*betrag|montant\s*(?:de\s*la\s*)?tva", 1.0),
    (r"mwst\.?|mehrwertsteuer|umsatzsteuer|u\.?st\.?(?![a-z])", 0.95),
    (r"vat|gst|sst|tva|sales\s*tax|tax", 0.9),
    (r"total[e]?\s*iva|totaal\s*btw|iva|btw", 0.9),
)
# Registration numbers, totals that include tax, and exemptions name tax but
# are not the tax amount.
_NOT_TAX_AMOUNT = re.compile(
    r"(?i)(?:vat|gst|sst|tax|tva|ust|mwst|btw|iva)\s*[-.]?\s*(?:id|reg|no\b|number|nr|#"
    r"|identification|registration|code|invoice|exempt|rate|%\s*$)"
    r"|ust-?id|steuer\s*-?\s*n(?:umme)?r|incl(?!uded)|inkl|brutto|\bexcl|exclusive"
    r"|p\.?\s*iva|partita|nif|cif"
    r"|sub\s*-?\s*total|total\s*(?:excl|h\.?t)|\bnet\b|netto|payable|due"
)


def _amount_candidates(
    layouts: Sequence[PageLayout],
    labels: Sequence[Label],
    *,
    exclude: re.Pattern[str] | None,
    take_last: bool,
    base: float,
) -> list[Candidate]:
    candidates = []
    for found, weight in labelled_texts(layouts, labels, exclude=exclude):
        amounts = [a for a in amounts_in(found.text) if a.has_decimals or a.value == 0]
        if not amounts:
            continue
        # "VAT 19 % on 100.00 = 19.00": the line's last amount is the tax;
        # "Subtotal 100.00 Tax 19.00": the first one follows the label.
        amount = amounts[-1] if take_last else amounts[0]
        candidates.append(
            Candidate(
                value=format_amount(amount.value),
                raw_value=amount.raw,
                score=base * weight * found.location_weight,
                placed=found.placed,
                explanation=_explain(found),
            )
        )
    return candidates


def subtotal_candidates(layouts: Sequence[PageLayout]) -> list[Candidate]:
    return _amount_candidates(
        layouts,
        _SUBTOTAL_LABELS,
        exclude=re.compile(r"(?i)incl(?!uded)|inkl|brutto|ttc\b"),
        take_last=False,
        base=0.85,
    )


def tax_candidates(layouts: Sequence[PageLayout]) -> list[Candidate]:
    return _amount_candidates(
        layouts, _TAX_LABELS, exclude=_NOT_TAX_AMOUNT, take_last=True, base=0.8
    )


def reconcile_amounts(
    totals: list[Candidate],
    subtotals: list[Candidate],
    taxes: list[Candidate],
) -> tuple[FieldValue | None, FieldValue | None, FieldValue | None]:
    """Total, subtotal and tax, re-ranked so that subtotal + tax = total where
    the printed candidates allow it.

    A consistent triple is rarely a coincidence: each of its values then gets
    most of its remaining doubt removed. The total the evidence favours is kept
    when it fits; a rival total is taken instead only when it fits and the
    favourite does not ("Net total 496.00" above "Total 571.04"). A subtotal
    and tax that cannot be reconciled keep their own evidence, less some
    confidence.
    """
    total = choose("total_amount", totals)
    subtotal = choose("subtotal_amount", subtotals)
    tax = choose("tax_amount", taxes)
    if total is None:
        return total, subtotal, tax
    best_score = max(c.score for c in totals)
    rivals = [total.value] + [
        value
        for value in _by_value(totals)
        if value != total.value and _best_score(totals, value) >= 0.5 * best_score
    ]
    for total_value in rivals:
        wanted = Decimal(total_value)
        pairs = [
            (s, t)
            for s in _by_value(subtotals)
            for t in _by_value(taxes)
            if Decimal(s) + Decimal(t) == wanted and Decimal(t) != 0
        ]
        if not pairs:
            continue
        s_value, t_value = max(
            pairs,
            key=lambda p: _best_score(subtotals, p[0]) + _best_score(taxes, p[1]),
        )
        total = choose("total_amount", [c for c in totals if c.value == total_value])
        subtotal = choose(
            "subtotal_amount", [c for c in subtotals if c.value == s_value]
        )
        tax = choose("tax_amount", [c for c in taxes if c.value == t_value])
        assert total is not None and subtotal is not None and tax is not None
        return _consistent(total), _consistent(subtotal), _consistent(tax)
    if subtotal is not None and tax is None and subtotal.value == total.value:
        return total, subtotal, tax  # no tax charged: nothing contradicts
    return (
        total,
        _inconsistent(subtotal) if subtotal else None,
        _inconsistent(tax) if tax else None,
    )


def _by_value(candidates: list[Candidate]) -> list[str]:
    return list(dict.fromkeys(c.value for c in candidates))


def _best_score(candidates: list[Candidate], value: str) -> float:
    return max(c.score for c in candidates if c.value == value)


def _consistent(field: FieldValue) -> FieldValue:
    return replace(
        field,
        confidence=round(1 - (1 - field.confidence) * 0.25, 3),
        explanation=f"{field.explanation}; subtotal + tax = total",
    )


def _inconsistent(field: FieldValue) -> FieldValue:
    return replace(
        field,
        confidence=round(field.confidence * 0.8, 3),
        explanation=f"{field.explanation}; subtotal + tax does not match the total",
    )


# --- bank and tax identifiers ----------------------------------------------------

# OCR glues the label to the number ("IBANFR7630006..."): a start right after
# "IBAN" counts too.
_IBAN_START = re.compile(r"(?:(?<![A-Z0-9])|(?<=IBAN))[A-Z]{2}\d{2}(?=[ ]?[A-Z0-9])")
_IBAN_LABEL = re.compile(r"(?i)\biban(?=\b|[a-z]{2}\d{2})")
_VAT_START = re.compile(r"(?<![A-Z0-9])(?:[A-Z]{2}|EL)(?=[ ]?[A-Z0-9]{2})")
_VAT_LABELS = _labels(
    (r"vat\s*(?:reg(?:istration)?\.?\s*)?(?:no|number|id|nr|#)\.?", 1.0),
    (
        r"u(?:st|msatzsteuer)\.?\s*-?\s*id(?:ent(?:ifikations)?)?\.?\s*-?\s*(?:nr|nummer)?\.?",
        1.0,
    ),
    (
        r"\buid\b|tva\s*intra(?:communautaire)?|n°\s*(?:de\s*)?tva|num[ée]ro\s*de\s*tva",
        1.0,
    ),
    (r"vat\s*:|btw(?:\s*nr)?|p\.?\s*iva|partita\s*iva|tax\s*id", 0.9),
)
# The buyer's VAT id is often printed too: never take it for the vendor's.
_CUSTOMER_VAT = re.compile(
    r"(?i)your|customer|client|buyer|ihre|kunden|acheteur|bill\s*to"
)


def _grouped_identifier(
    text: str, start: re.Pattern[str], accept: Callable[[str], bool]
) -> Iterator[tuple[str, str, bool]]:
    """Identifiers printed compact or in groups ("DE89 3704 0044 ..."), however
    OCR spaced them: from each start, the longest run of groups that `accept`s
    (compact, raw, True), else the run of groups holding digits (compact, raw,
    False) for a shape check."""
    upper = text.upper()
    for match in start.finditer(upper):
        parts: list[re.Match[str]] = []
        length = 0
        for token in re.finditer(r"[A-Z0-9]+", upper[match.start() :]):
            gap = upper[
                match.start() + (parts[-1].end() if parts else 0) : match.start()
                + token.start()
            ]
            if parts and gap not in (" ", "", "-", "."):
                break
            length += len(token.group(0))
            if length > 34:  # longer than any IBAN or VAT id
                break
            parts.append(token)
        found = None
        for count in range(len(parts), 0, -1):
            raw = text[match.start() : match.start() + parts[count - 1].end()]
            if accept(compact_identifier(raw)):
                found = (compact_identifier(raw), raw, True)
                break
        if found is None and parts:
            digits = [parts[0]]
            for token in parts[1:]:
                if not any(ch.isdigit() for ch in token.group(0)):
                    break
                digits.append(token)
            raw = text[match.start() : match.start() + digits[-1].end()]
            found = (compact_identifier(raw), raw, False)
        if found is not None:
            yield found


def iban(layouts: Sequence[PageLayout]) -> FieldValue | None:
    """IBANs anywhere on the page; one whose check digits hold is almost
    certainly read right, one whose do not is shown for review."""
    candidates = []
    for layout in layouts:
        for row in layout.rows:
            text = "   ".join(placed.line.text for placed in row)
            labelled = bool(_IBAN_LABEL.search(text))
            for compact, raw, valid in _grouped_identifier(
                text, _IBAN_START, iban_is_valid
            ):
                if normalize_iban(compact) is None:
                    continue
                score = (0.97 if valid else 0.45) * (1.0 if labelled else 0.97)
                placed = next(
                    (p for p in row if compact[:8] in compact_identifier(p.line.text)),
                    row[0],
                )
                candidates.append(
                    Candidate(
                        value=compact,
                        raw_value=raw,
                        score=score,
                        placed=placed,
                        explanation=(
                            ("after label 'IBAN', " if labelled else "")
                            + (
                                "IBAN check digits valid"
                                if valid
                                else "IBAN-shaped, but its check digits fail"
                            )
                        ),
                    )
                )
    return choose("iban", candidates)


_BIC_LABELS = _labels((r"bic|swift(?:\s*code)?|bic\s*/\s*swift", 1.0))


def bic(layouts: Sequence[PageLayout]) -> FieldValue | None:
    candidates = []
    for found, weight in labelled_texts(layouts, _BIC_LABELS, below=True):
        for token in re.findall(r"[A-Z0-9]{8,11}", found.text.upper())[:1]:
            code = normalize_bic(token)
            if code is None:
                continue
            candidates.append(
                Candidate(
                    value=code,
                    raw_value=token,
                    score=0.93 * weight * found.location_weight,
                    placed=found.placed,
                    explanation=_explain(found),
                )
            )
    return choose("bic", candidates)


def vendor_vat_id(layouts: Sequence[PageLayout]) -> FieldValue | None:
    """VAT ids after a VAT label, and checksum-valid ones anywhere else."""
    candidates = []
    labelled_lines: set[int] = set()
    for found, weight in labelled_texts(
        layouts, _VAT_LABELS, exclude=_CUSTOMER_VAT, below=True
    ):
        labelled_lines.add(id(found.placed))
        for compact, raw, valid in _grouped_identifier(
            found.text, _VAT_START, vat_id_is_valid
        ):
            if normalize_vat_id(compact) is None:
                continue
            checkable = vat_id_is_checkable(compact)
            strength = 0.96 if valid else (0.5 if checkable else 0.7)
            candidates.append(
                Candidate(
                    value=compact,
                    raw_value=raw,
                    score=strength * weight * found.location_weight,
                    placed=found.placed,
                    explanation=_explain(found)
                    + ("" if valid else ", but its check digits fail or are unknown"),
                )
            )
            break
    for layout in layouts:
        for placed in layout.lines:
            if id(placed) in labelled_lines or _CUSTOMER_VAT.search(placed.line.text):
                continue
            for compact, raw, valid in _grouped_identifier(
                placed.line.text, _VAT_START, vat_id_is_valid
            ):
                if valid:
                    candidates.append(
                        Candidate(
                            value=compact,
                            raw_value=raw,
                            score=0.75,
                            placed=placed,
                            explanation="VAT id with valid check digits, no label",
                        )
                    )
    return choose("vendor_vat_id", candidates)


# --- parties -------------------------------------------------------------------

_CUSTOMER_LABELS = _labels(
    (r"bill(?:ed)?\s*to|sold\s*to|invoice\s*to|invoiced\s*to|advertiser", 1.0),
    (r"rechnungs?(?:empf[äa]nger|adresse|\s*an)|factur[ée]\s*[àa]|destinataire", 1.0),
    (r"customer(?:\s*name)?(?!\s*(?:no|number|id|#|copy|code|ref|service))", 0.85),
    (r"client(?!\s*(?:no|number|id|#|code|ref))|buyer|kunde(?!n\s*-?\s*n)", 0.85),
    (r"ship\s*to|deliver\s*to|attn\.?|attention", 0.55),
)
_NOT_A_NAME = re.compile(
    r"(?i)^\W*(?:invoice|date|no\.?|number|page|total|amount|address|tel|phone|fax"
    r"|e-?mail|www|http)\b"
)


def customer_name(layouts: Sequence[PageLayout]) -> FieldValue | None:
    candidates = []
    for found, weight in labelled_texts(layouts, _CUSTOMER_LABELS):
        text = " ".join(found.text.split()).strip(" :,")
        letters = sum(ch.isalpha() for ch in text)
        digits = sum(ch.isdigit() for ch in text)
        if letters < 3 or digits > letters or _NOT_A_NAME.match(text):
            continue
        if find_dates(text):
            continue
        candidates.append(
            Candidate(
                value=text,
                raw_value=text,
                score=0.82 * weight * found.location_weight,
                placed=found.placed,
                explanation=_explain(found),
            )
        )
    return choose("customer_name", candidates)


_ADDRESS_WORDS = re.compile(
    r"(?i)\b(?:jalan|jln|lorong|taman|kawasan|bandar|road|rd|street|st|avenue|ave"
    r"|blvd|lane|drive|lot|no|block|blk|floor|level|suite|unit|box|strasse|straße"
    r"|str|weg|platz|allee|gasse|rue|boulevard|chemin|place|avenue|via|seksyen"
    r"|persiaran|selangor|johor|kuala|lumpur|penang|pulau|pinang|melaka|perak|kedah"
    r"|pahang|sabah|sarawak|negeri|sembilan|darul|ehsan|takzim|malaysia|germany"
    r"|deutschland|france|usa)\b|\d{4,5}\b|\d+[A-Z]?,"
    # OCR reads "ß" as "B": "LieferantenstraBe 20".
    r"|\w(?:stra(?:ss|ß|b)e|str\.|weg|platz|allee|gasse|damm|ring)\s*\d"
)
_CONTACT_OR_ID = re.compile(
    r"(?i)\b(?:tel|telefon|phone|ph|fax|hp|mobile|e-?mail|www|http|gst|sst|reg"
    r"|co\.?\s*no|company\s*no|roc|ssm|vat|ust|tax|invoice|receipt|date|cashier"
    r"|table|bill|iban|bic|roc|br|formerly|licensee|document|doc|telephone"
    r"|thank|welcome|member|order|served|counter|pos|terminal|handelsname"
    r"|steuernummer|gln|siret|hr[ab]\s*\d+)\b|@"
    r"|\d{2,4}[-\s]\d{3,4}[-\s]\d{3,4}|\b0\d{1,2}\s?-\s?\d{6,8}\b|\d+\.\d{2}\b"
    # Malaysian business registration numbers: "(65351-M)", "JM0325955-V".
    r"|\b[A-Z]{0,3}\d{5,}\s*-\s*[A-Z]\b"
)
# "(JM0517726) NO 12 ..." or a bare "1227039": a registration number printed
# before or instead of the first address line.
_POSTCODE = re.compile(r"(?<![\d-])\d{5}(?![\d-])")
_REGISTRATION_PREFIX = re.compile(
    r"(?i)^\s*(?:site\s*:\s*\d+\s*)?(?:\(\s*[A-Z]{0,3}\d{5,}[A-Z-]*\s*\)|\d{6,})?\s*"
)
_COMPANY = re.compile(
    r"(?i)sdn\.?\s*bhd|\bbhd\b|berhad|gmbh|\binc\b|\bltd\b|limited|\bllc\b"
)


def vendor_address(
    layouts: Sequence[PageLayout],
    vendor: FieldValue | None,
    *,
    comma_before_postcode: bool = False,
) -> FieldValue | None:
    """The lines under the vendor's name that read as an address, up to the
    first contact, registration or document line after it. European
    addresses written on one line put a comma before the postcode line
    (`comma_before_postcode`); Malaysian receipts' annotations do not."""
    if vendor is None or vendor.box is None or not layouts:
        return None
    layout = next(
        (lay for lay in layouts if lay.page.page_number == vendor.page_number),
        layouts[0],
    )
    anchor = vendor.box
    below = [
        row
        for row in layout.rows
        if _row_center(row) > anchor[3] - 0.4 * max(p.height for p in row)
    ][:10]
    taken: list[PlacedLine] = []
    skipped = 0
    for row in below:
        near = [p for p in row if _overlaps(p.box, anchor, layout.page.width)]
        address = [p for p in near if _is_address_line(p.line.text, taken)]
        ends = len(address) < len(near) and bool(taken or address)
        if address:
            taken.extend(address)
        elif not taken:
            # Registration numbers, a former name, a branch name may sit
            # between the name and its address.
            skipped += 1
            if skipped > 4:
                break
            continue
        if ends or not address or len(taken) >= 5:
            break
    if not taken:
        return None
    value = join_address_lines(
        [" ".join(_REGISTRATION_PREFIX.sub("", p.line.text).split()) for p in taken],
        comma_before_postcode=comma_before_postcode,
    )
    postcode = bool(re.search(r"\b\d{4,5}\b", value))
    score = 0.55 + (0.15 if postcode else 0.0) + (0.05 if len(taken) >= 2 else 0.0)
    box: Box = (
        min(p.box[0] for p in taken),
        min(p.box[1] for p in taken),
        max(p.box[2] for p in taken),
        max(p.box[3] for p in taken),
    )
    return choose(
        "vendor_address",
        [
            Candidate(
                value=value,
                raw_value=value,
                score=score,
                placed=taken[0],
                explanation=f"{len(taken)} address line(s) under the vendor name",
                box=box,
            )
        ],
    )


def join_address_lines(
    lines: Sequence[str], *, comma_before_postcode: bool = False
) -> str:
    """Address lines as one value, the way an address is written on one line:
    with `comma_before_postcode`, "Hauptstr. 5" + "12345 Berlin" ->
    "Hauptstr. 5, 12345 Berlin"; otherwise (and for every other line) joined
    as printed, since receipts put their own commas where they want them."""
    out = ""
    for line in (line.strip() for line in lines):
        if not line:
            continue
        if comma_before_postcode and _POSTCODE_LINE.match(line):
            # "DE 80333 München" under the street: the country code is not
            # part of the address as one line writes it.
            line = _COUNTRY_BEFORE_POSTCODE.sub("", line)
            if out and out[-1].isalnum():
                out += ","
        out = f"{out} {line}" if out else line
    return out


# "12345 Berlin", "F-75001 Paris", "1012 AB Amsterdam", "D-80331 München".
_POSTCODE_LINE = re.compile(
    r"(?:[A-Z]{1,2}-|[A-Z]{2}\s)?\d{4,5}(?:\s?[A-Z]{2})?\s+[^\W\d]"
)
_COUNTRY_BEFORE_POSTCODE = re.compile(r"^[A-Z]{2}\s(?=\d{4,5}\s)")


# Money and bank lines ("Total EUR 120,50", "IBAN DE89 ...") are never address
# lines, though "120," looks like a house number to _ADDRESS_WORDS. Glued OCR
# ("TotalEUR120,50") is why the words are not bounded on the right.
_MONEY_LABEL = re.compile(
    r"(?i)\b(?:total|sub-?total|amount|summe|betrag|balance|iban"
    r"|(?:tax|vat|gst|mwst|bic|swift|bank)\b)"
)


def _is_address_line(text: str, taken: Sequence[PlacedLine]) -> bool:
    text = _REGISTRATION_PREFIX.sub("", text)
    if not text or _CONTACT_OR_ID.search(text) or find_dates(text):
        return False
    if _MONEY_LABEL.search(text):
        return False
    if _COMPANY.search(text):
        return False
    if _ADDRESS_WORDS.search(text):
        return True
    # A short continuation ("SELANGOR.", "(X) U13/X, SETIA ALAM,") once the
    # address began, but nothing after its postcode line that is not a place
    # (a branch name follows the address on many receipts).
    if not taken:
        return False
    if any(_POSTCODE.search(p.line.text) for p in taken):
        # ... except the branch in brackets: "(MR DIY TESCO TERBAU)".
        return bool(re.fullmatch(r"\(.*\)", text.strip()))
    return len(text.split()) <= 6


def _row_center(row: Sequence[PlacedLine]) -> float:
    return (min(p.box[1] for p in row) + max(p.box[3] for p in row)) / 2


def _overlaps(box: Box, anchor: Box, page_width: int) -> bool:
    # The address block sits in the name's column: overlapping it, within a
    # generous margin for centred receipts whose lines are wider than the name.
    margin = page_width * 0.15
    return box[0] < anchor[2] + margin and box[2] > anchor[0] - margin
