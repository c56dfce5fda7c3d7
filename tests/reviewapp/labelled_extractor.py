"""A test extractor: the heuristic extractor plus the PO number and the IBAN
from lines labelled "PO:" and "IBAN:", which the heuristic extractor does not
read yet (issue 3 adds them). End-to-end tests select it through
VOUCH_EXTRACTOR so that matching and bank-detail checks see these fields."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipeline.extract.heuristic import HeuristicExtractor
from pipeline.types import Extraction, FieldValue, PageText

PATH = "tests.reviewapp.labelled_extractor.LabelledFieldsExtractor"
LABELS = {
    "po_number": re.compile(r"^PO(?: number)?\s*[:#]\s*(?P<value>\S.*)$", re.I),
    "iban": re.compile(r"^IBAN\s*:?\s*(?P<value>[A-Z]{2}[0-9 ]{13,40})$", re.I),
}


class LabelledFieldsExtractor:
    name = "heuristic+labelled"
    version = "test"

    def extract(self, pages: Sequence[PageText]) -> Extraction:
        fields = list(HeuristicExtractor().extract(pages).fields)
        for page in pages:
            for line in page.lines:
                for name, pattern in LABELS.items():
                    match = pattern.match(line.text.strip())
                    if match is None:
                        continue
                    raw = match["value"].strip()
                    value = "".join(raw.split()).upper() if name == "iban" else raw
                    fields.append(
                        FieldValue(
                            name=name,
                            raw_value=raw,
                            value=value,
                            confidence=line.confidence,
                            page_number=page.page_number,
                            box=line.box,
                            explanation=f"test extractor: after label on '{line.text}'",
                        )
                    )
        return Extraction(fields=tuple(fields))
