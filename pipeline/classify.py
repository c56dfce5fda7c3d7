"""What kind of document this is: invoice, receipt, purchase order, remittance
advice, credit note, or something else.

Two kinds of evidence, combined:

* a trained logistic model (`pipeline/models/document_classifier.json`, built by
  `manage.py train_classifier` from the dev datasets) separates receipts from
  invoice-like documents using layout and wording: a tall narrow text block,
  cash/change wording and large print relative to the width make a receipt; a
  "bill to" block, payment terms and bank details make an invoice. Malaysian
  receipts headed "TAX INVOICE" are why the title alone cannot decide;
* the printed title picks the kind of invoice-like document (credit note,
  purchase order, remittance advice), which the dev data has too few examples
  of to learn: those types are recognised only when their title is printed.

The confidence is the model's probability (calibrated on held-out folds when
trained), times the measured reliability of a printed title where a title
decided the subtype. A document without any of the wording is "other" with a
low confidence, so a person looks at it.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline.types import OcrLine, PageText

INVOICE = "invoice"
RECEIPT = "receipt"
PURCHASE_ORDER = "purchase_order"
REMITTANCE_ADVICE = "remittance_advice"
CREDIT_NOTE = "credit_note"
OTHER = "other"
DOCUMENT_TYPES = (
    INVOICE,
    RECEIPT,
    PURCHASE_ORDER,
    REMITTANCE_ADVICE,
    CREDIT_NOTE,
    OTHER,
)

MODEL_PATH = Path(__file__).parent / "models" / "document_classifier.json"

# Title wording per type, several languages. Matched against short lines only
# (a title is a heading, not a sentence that mentions the word).
TITLE_PATTERNS: Mapping[str, re.Pattern[str]] = {
    CREDIT_NOTE: re.compile(
        r"\bcredit\s*(note|memo)\b|gutschrift\b|\brechnungskorrektur\b|"
        r"\bavoir\b|\bnota\s+de\s+cr[ée]dito\b|\bnota\s+di\s+credito\b|"
        r"\bcreditnota\b"
    ),
    PURCHASE_ORDER: re.compile(
        r"\bpurchase\s+order\b|\bbestellung\b|\bbon\s+de\s+commande\b|"
        r"\borden\s+de\s+compra\b|\bordine\s+d[i']\s*acquisto\b|\binkooporder\b"
    ),
    REMITTANCE_ADVICE: re.compile(
        r"\bremittance\b|\bpayment\s+advice\b|\bzahlungsavis\b|"
        r"\bavis\s+de\s+(paiement|virement)\b|\baviso\s+de\s+pago\b"
    ),
    RECEIPT: re.compile(
        r"\breceipt\b|\bquittung\b|\bkassenbon\b|\bkassenbeleg\b|\bre[çc]u\b|"
        r"\brecibo\b|\bricevuta\b|\bcash\s*(sale|bill)\b|\bkassabon\b"
    ),
    INVOICE: re.compile(
        # German builds compounds on "Rechnung" (Handelsrechnung, Schlussrechnung).
        r"\binvoice\b|rechnung\b|\bfacture\b|\bfactura\b|\bfattura\b|"
        r"\bfactuur\b|\bfaktura\b|\bbill\b"
    ),
}
# Wording that points at a till receipt, and at an invoice, anywhere on the page.
RECEIPT_CUES = re.compile(
    r"\bcash\b|\bchange\b|\btendered\b|\bcashier\b|\bthank\s*you\b|\brounding\b|"
    r"\bgst\s+summary\b|\btable\b|\bpax\b|\bmember\b|\bvisa\b|\bmastercard\b|"
    r"\bbar\s*geg|\brückgeld\b|\bmonnaie\b|\bcounter\b|\bpos\b"
)
INVOICE_CUES = re.compile(
    r"\bbill\s+to\b|\bship\s+to\b|\bsold\s+to\b|\bdue\s+date\b|\bpayment\s+terms\b|"
    r"\bterms\b|\biban\b|\bbic\b|\bswift\b|\bvat\b|\bust-?id|\bsteuernummer\b|"
    r"\bcustomer\s+(no|number|id)\b|\bkundennummer\b|\bf[äa]llig|\bnet\s+\d+\b|"
    r"\bremit\s+to\b|\baccount\s+(no|number)\b|\bpo\s*(number|no|#)|\bpage\s+\d+\b"
)
AMOUNT = re.compile(r"\d[\d.,' ]*[.,]\d{2}\b")
TITLE_MAX_CHARS = 40
TITLE_ZONE = 0.4  # the top share of the first page where a title may sit

FEATURE_NAMES = (
    "title_receipt",
    "title_invoice",
    "title_other_invoice_like",
    "mention_receipt",
    "mention_invoice",
    "receipt_cues",
    "invoice_cues",
    "log_aspect",
    "pages",
    "amount_share",
    "char_height_per_width",
)


@dataclass(frozen=True)
class Classification:
    document_type: str
    confidence: float
    # Plain-language reasons, shown on the review page.
    evidence: tuple[str, ...]
    receipt_probability: float


@dataclass(frozen=True)
class ClassifierModel:
    """A logistic model: P(receipt) = sigmoid(intercept + coef . standardised x)."""

    name: str
    version: str
    features: tuple[str, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    coefficients: tuple[float, ...]
    intercept: float
    # P(type is right | its title is printed), measured on the dev data.
    title_reliability: float

    def receipt_probability(self, features: Mapping[str, float]) -> float:
        score = self.intercept
        for name, mean, scale, weight in zip(
            self.features, self.means, self.scales, self.coefficients, strict=True
        ):
            score += weight * (features[name] - mean) / (scale or 1.0)
        return 1.0 / (1.0 + math.exp(-max(min(score, 50.0), -50.0)))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClassifierModel:
        return cls(
            name=data["name"],
            version=data["version"],
            features=tuple(data["features"]),
            means=tuple(data["means"]),
            scales=tuple(data["scales"]),
            coefficients=tuple(data["coefficients"]),
            intercept=float(data["intercept"]),
            title_reliability=float(data["title_reliability"]),
        )


@lru_cache(maxsize=1)
def default_model() -> ClassifierModel:
    return ClassifierModel.from_json(json.loads(MODEL_PATH.read_text()))


def normalised(text: str) -> str:
    return " ".join(text.lower().split())


def titles(pages: Sequence[PageText]) -> dict[str, str]:
    """Types whose title is printed as a heading near the top of page 1, with
    the heading text. A heading is short and at least as tall as the page's
    typical line."""
    if not pages or not pages[0].lines:
        return {}
    first = pages[0]
    heights = [line.box[3] - line.box[1] for line in first.lines]
    typical = statistics.median(heights)
    top = min(line.box[1] for line in first.lines)
    bottom = max(line.box[3] for line in first.lines)
    zone_end = top + (bottom - top) * TITLE_ZONE
    found: dict[str, str] = {}
    for line, height in zip(first.lines, heights, strict=True):
        text = normalised(line.text)
        if len(text) > TITLE_MAX_CHARS or line.box[1] > zone_end:
            continue
        if height < typical * 0.95:
            continue
        heading_type = _heading_type(text, prominent=height >= typical * 1.15)
        if heading_type is not None and heading_type not in found:
            found[heading_type] = line.text.strip()
    return found


# What follows a type word when the line is a label, not a heading: "Invoice
# No:", "Bestellung: 4711", "Invoice date".
_LABEL_TAIL = re.compile(
    r"^\s*(:|#|no\b|nr\b|number\b|num\b|date\b|datum\b|n[°o]|ref\b|id\b)"
)


def _heading_type(text: str, *, prominent: bool) -> str | None:
    """The type a heading line names: the type word that comes first ("Rechnung
    gemäß Bestellung" is an invoice). In ordinary print, "Invoice No:" is a
    label, not a heading; printed larger ("INVOICE No. 123") it is the title."""
    earliest: tuple[int, str] | None = None
    for document_type, pattern in TITLE_PATTERNS.items():
        match = pattern.search(text)
        if match is None:
            continue
        if not prominent and _LABEL_TAIL.match(text[match.end() :]):
            continue
        if earliest is None or match.start() < earliest[0]:
            earliest = (match.start(), document_type)
    return earliest[1] if earliest else None


def features(pages: Sequence[PageText]) -> dict[str, float]:
    """The model's inputs, from text and layout only (no page size: the SROIE
    training receipts come without images, and a scan's margins say little)."""
    lines: list[OcrLine] = [line for page in pages for line in page.lines]
    texts = [normalised(line.text) for line in lines]
    found = titles(pages)
    if lines:
        first_page = pages[0].lines or tuple(lines)
        width = max(ln.box[2] for ln in first_page) - min(
            ln.box[0] for ln in first_page
        )
        height = max(ln.box[3] for ln in first_page) - min(
            ln.box[1] for ln in first_page
        )
        char_heights = [ln.box[3] - ln.box[1] for ln in first_page]
        char_height = statistics.median(char_heights)
    else:
        width = height = char_height = 1
    page_count = max(len(pages), 1)
    return {
        "title_receipt": float(RECEIPT in found),
        "title_invoice": float(INVOICE in found),
        "title_other_invoice_like": float(
            bool({CREDIT_NOTE, PURCHASE_ORDER, REMITTANCE_ADVICE} & set(found))
        ),
        "mention_receipt": math.log1p(
            sum(bool(TITLE_PATTERNS[RECEIPT].search(t)) for t in texts)
        ),
        "mention_invoice": math.log1p(
            sum(bool(TITLE_PATTERNS[INVOICE].search(t)) for t in texts)
        ),
        "receipt_cues": math.log1p(sum(bool(RECEIPT_CUES.search(t)) for t in texts)),
        "invoice_cues": math.log1p(sum(bool(INVOICE_CUES.search(t)) for t in texts)),
        "log_aspect": math.log(max(height, 1) / max(width, 1)),
        "pages": float(min(page_count, 10)),
        "amount_share": (
            sum(bool(AMOUNT.search(t)) for t in texts) / len(texts) if texts else 0.0
        ),
        "char_height_per_width": char_height / max(width, 1),
    }


def classify(
    pages: Sequence[PageText], model: ClassifierModel | None = None
) -> Classification:
    model = model or default_model()
    lines = [line for page in pages for line in page.lines]
    if not lines:
        return Classification(OTHER, 0.0, ("no text was found",), 0.0)
    values = features(pages)
    found = titles(pages)
    p_receipt = model.receipt_probability(values)
    evidence = [f'heading "{text}"' for text in found.values()]
    if values["receipt_cues"]:
        evidence.append("till wording (cash, change, cashier ...)")
    if values["invoice_cues"]:
        evidence.append("invoice wording (bill to, terms, bank or tax details ...)")
    if not found and not values["amount_share"]:
        # No heading and no money: a letter, a contract, a delivery note ...
        return Classification(
            OTHER,
            0.5,
            ("no document heading and no amounts were found",),
            p_receipt,
        )
    if p_receipt >= 0.5:
        return Classification(RECEIPT, p_receipt, tuple(evidence), p_receipt)
    # A credit note or remittance advice names invoices ("credit for invoice
    # 123"); an invoice names the order it fills ("Bestellung"): so an order
    # heading counts only where no invoice heading is printed.
    subtype = next(
        (t for t in (CREDIT_NOTE, REMITTANCE_ADVICE) if t in found),
        PURCHASE_ORDER if PURCHASE_ORDER in found and INVOICE not in found else None,
    )
    if subtype is not None:
        confidence = (1.0 - p_receipt) * model.title_reliability
        return Classification(subtype, confidence, tuple(evidence), p_receipt)
    return Classification(INVOICE, 1.0 - p_receipt, tuple(evidence), p_receipt)
