"""Bank and tax identifiers: IBAN, BIC and the vendor's VAT id, found by their
labels and check digits, never the buyer's VAT id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

from pipeline.extract.candidates import Candidate, choose
from pipeline.extract.labelled_text import explain, labelled_texts, weighted_labels
from pipeline.extract.layout import PageLayout
from pipeline.extract.normalize import (
    compact_identifier,
    iban_is_valid,
    normalize_bic,
    normalize_iban,
    normalize_vat_id,
    vat_id_is_checkable,
    vat_id_is_valid,
)
from pipeline.types import FieldValue

# OCR glues the label to the number ("IBANFR7630006..."): a start right after
# "IBAN" counts too.
_IBAN_START = re.compile(r"(?:(?<![A-Z0-9])|(?<=IBAN))[A-Z]{2}\d{2}(?=[ ]?[A-Z0-9])")
_IBAN_LABEL = re.compile(r"(?i)\biban(?=\b|[a-z]{2}\d{2})")
_VAT_START = re.compile(r"(?<![A-Z0-9])(?:[A-Z]{2}|EL)(?=[ ]?[A-Z0-9]{2})")
_VAT_LABELS = weighted_labels(
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


_BIC_LABELS = weighted_labels((r"bic|swift(?:\s*code)?|bic\s*/\s*swift", 1.0))


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
                    explanation=explain(found),
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
                    explanation=explain(found)
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
