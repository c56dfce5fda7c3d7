"""Dates and references found next to their printed label: the due date (or
terms that give it), the purchase order number and the payment terms.

Every function takes page layouts and returns a chosen FieldValue or None;
none raises on odd text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from pipeline.extract.candidates import Candidate, choose, id_token
from pipeline.extract.labelled_text import explain, labelled_texts, weighted_labels
from pipeline.extract.layout import PageLayout
from pipeline.extract.normalize import (
    find_dates,
)
from pipeline.types import FieldValue

_DUE_DATE_LABELS = weighted_labels(
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
                    explanation=explain(found),
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


_PO_LABELS = weighted_labels(
    (r"purchase\s*order(?:\s*(?:no|number|nr|#|ref))?\.?", 1.0),
    (
        r"(?:customer\s*|client\s*|your\s*)?p\.?\s*o\.?(?!\s*box)\s*(?:no|nr|number|#)\.?",
        1.0,
    ),
    (r"(?:customer\s*|client\s*|your\s*)?p\.?o\.?(?=\s*[:#])(?!\s*box)", 0.9),
    (r"bestell\s*-?\s*(?:nummer|nr\.?|ung\s*-?\s*nr\.?|ung)|ihre\s*bestellung", 0.95),
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
                explanation=explain(found),
            )
        )
    return choose("po_number", candidates)


_TERMS_LABELS = weighted_labels(
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
                explanation=explain(found),
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
