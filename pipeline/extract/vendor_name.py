"""The vendor's name: after a seller label, from a sender line or footer, or
the name-like rows at the top of the first page, joined when wrapped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipeline.extract.candidates import Candidate, choose
from pipeline.extract.layout import PageLayout, PlacedLine, row_box
from pipeline.extract.normalize import find_dates
from pipeline.types import Box, FieldValue

COMPANY_SUFFIX = re.compile(
    r"(?i)(?:sdn\.?\s*bh?d|\bbhd\b|\bberhad\b|gmbh|\binc\b\.?|\bltd\b\.?|limited|\bllc\b"
    r"|\bl\.?l\.?p\b|\bs\.\s?a\.?(?!\w)|\bsarl\b|\bs\.?a\.?s\b|\bb\.?v\b\.?|\bplc\b"
    r"|\bag\b|\bkg\b|\bs\.?r\.?l\b|\bpty\b|\bpte\b|\bcorp\b|corporation|\bco\.|"
    r"\bcompany\b|enterprise|trading|\bmart\b|restaurant|\bstore\b|\bsupermarket\b"
    r"|\bhardware\b|\bstationery\b|\bbakery\b|\bcafe\b|\bkedai\b|\bsdn\b)"
)
STRONG_SUFFIX = re.compile(
    r"(?i)sdn\.?\s*b[a-z]?d\b|\bbhd\b|berhad|gmbh|\binc\b|\bltd\b|limited|\bllc\b|\bplc\b"
    r"|\bsarl\b|\bs\.a\.?|\bb\.v\b|\bpte\b|\bpty\b|\bag\b|\bcorp\b"
    r"|\bs/b\b|\bsb\b"
)
DOCUMENT_TITLE = re.compile(
    r"(?i)^\W*(?:(?:simplified\s*)?(?:tax\s*)?invoice|receipt|official\s*receipt"
    r"|cash\s*(?:sale|bill|receipt)|bill|quotation|rechnung|facture|credit\s*note"
    r"|delivery\s*order|tax\s*invoice|copy|duplicate|welcome|thank\s*you|cashier"
    r"|customer\s*copy|sales\s*receipt|order)\W*$"
)
_BOILERPLATE = re.compile(
    r"(?i)thank|goods\s*sold|shopping|welcome|please|terima\s*kasih|selamat"
)
_REGISTRATION_LINE = re.compile(
    r"(?i)^\W*(?:co(?:mpany)?\.?\s*(?:no|reg)|reg|gst|tax|roc|ssm|\d{4,})"
)
_REGISTRATION_TAIL = re.compile(
    r"(?i)\s*\(?\s*(?:(?:co(?:mpany)?\.?\s*(?:no|reg)|reg\.?\s*no|gst\s*(?:id|no))"
    r"|\d{4,}[\s-]*[A-Z]?\b).*$"
)
ADDRESS_OR_CONTACT = re.compile(
    r"(?i)\b(?:jalan|jln|lorong|taman|road|street|st\.|avenue|ave|blvd|lot|no\s*\.?\s*\d"
    r"|tel|fax|phone|hp|mobile|email|e-mail|www|http|gst|reg|co\.\s*no|ssm|tin"
    r"|strasse|straße|rue|avenue|floor|suite|p\.?o\.?\s*box|selangor|kuala|johor"
    r"|\d{5})\b|@|\d{3}[-\s]\d{3,4}"
)


def read_vendor_name(layout: PageLayout) -> FieldValue | None:
    header_rows = min(len(layout.rows), max(8, len(layout.rows) // 4))
    heights = sorted(p.height for p in layout.lines)
    median_height = heights[len(heights) // 2] if heights else 1
    candidates = [
        candidate
        for row_index in range(header_rows)
        for cluster in _clusters(layout.rows[row_index])
        if (candidate := _vendor_candidate(layout, row_index, cluster, median_height))
    ]
    candidates += _labelled_vendors(layout)
    candidates += _footer_vendors(layout)
    return choose("vendor_name", candidates)


# "Verkäufer: Lieferant GmbH", or the label alone with the name under it (the
# ZUGFeRD viewer's layout). Not "Lieferantenstraße", nor "Verkäufer-IBAN".
_VENDOR_LABEL = re.compile(
    r"(?i)^\W*(?:verk[äa]ufer|lieferant|rechnungs?\s*-?\s*e?rsteller|seller|supplier|vendor"
    r"|fournisseur|vendeur|[ée]metteur|fornitore|cedente|leverancier|proveedor"
    r"|emisor)\s*(?::|$)"
)


def _labelled_vendors(layout: PageLayout) -> list[Candidate]:
    candidates = []
    for placed in layout.lines:
        label = _VENDOR_LABEL.match(placed.line.text)
        if label is None:
            continue
        rest = placed.line.text[label.end() :].strip()
        sources = [(placed, rest)] if rest else []
        # Below first: beside the seller's label often sits the buyer's. The
        # name may come a blank row or a line of identifiers ("GLN 4333741000005",
        # "Lief-Nr: 549910") under the label.
        sources += [(o, o.line.text) for o in _lines_under_label(layout, placed)]
        sources += [(o, o.line.text) for o in layout.right_of(placed)[:1]]
        for source, text in sources:
            if _IDENTIFIER_LINE.match(text):
                continue
            name = strip_registration(" ".join(text.split()))
            if _FIELD_LABEL.search(name):
                continue
            if len(name) >= 3 and is_name_like(name):
                name = _with_legal_form_below(layout, source, name)
                candidates.append(
                    Candidate(
                        value=name,
                        raw_value=name,
                        score=0.92,
                        placed=source,
                        explanation=f"after label '{label.group(0).strip(' :')}'",
                    )
                )
                break
    return candidates


# A legal form ending a line: "Versicherungsverein Musterstadt a.G." under
# "MVM Musterhafter" ends the name the line above begins.
_LEGAL_FORM_ENDS = re.compile(
    r"(?i)(?:"
    + STRONG_SUFFIX.pattern.removeprefix("(?i)")
    + r"|\ba\.\s?g\.|\be\.\s?v\.|\bvvag\b|\bkg(?:aa)?\b"
    r"|\bmbh\b|\bsas\b|\bs\.?r\.?l\b)\W*$"
)


def _with_legal_form_below(layout: PageLayout, source: PlacedLine, name: str) -> str:
    """The name with the line under it when that line ends in the legal form
    the name lacks: a name printed over two lines."""
    if STRONG_SUFFIX.search(name):
        return name
    below = layout.below(source, max_rows=1)[:1]
    if not below:
        return name
    text = " ".join(below[0].line.text.split())
    if not _LEGAL_FORM_ENDS.search(text) or ADDRESS_OR_CONTACT.search(text):
        return name
    return f"{name} {text}" if is_name_like(text) else name


def _lines_under_label(layout: PageLayout, label: PlacedLine) -> list[PlacedLine]:
    """The three lines under a party's label, each the first below the one
    before it: within a few rows (another column's lines may come between)
    and a few line heights, so a name under a line of identifiers is reached
    however tightly the block is printed."""
    found: list[PlacedLine] = []
    current = label
    for _ in range(3):
        under = layout.below(current, max_rows=3)[:1]
        if not under:
            break
        found.append(under[0])
        current = under[0]
    return found


# A party's numbers, not its name: "GLN 4333741000005", "Lief-Nr: 549910".
_IDENTIFIER_LINE = re.compile(
    r"(?i)^\W*(?:gln|iln|ean|duns|lief(?:eranten)?\s*-?\s*nr|kunden\s*-?\s*nr"
    r"|ust|steuer|vat|tax|siret|siren|hrb?|glob(?:al|ale)\s*(?:id|nummer|number)"
    r"|nummer|number)\b"
)


# Another field's label, not a name: "Nummer", "Käufer:", "Name:".
_FIELD_LABEL = re.compile(
    r"(?i):\s*$|^\W*(?:nummer|number|name|nr\.?|no\.?|id|k[äa]ufer|buyer|customer"
    r"|kunde|client|acheteur)\W*$"
)


# "Muster GmbH · Hauptstr. 5 · 12345 Berlin": a sender line or footer names
# the vendor first, then its address.
_FOOTER_IDS = re.compile(
    r"(?i)\biban\b|\bbic\b|ust\.?\s*-?id|\bvat\b|\btva\b|\bhrb?\b|amtsgericht"
    r"|registergericht|siret|\brcs\b|\bkvk\b|p\.?\s*iva|\bnif\b|\bcif\b"
)
_SEGMENTS = re.compile(r"\s+[·•|]\s+|\s*[·•|]\s*(?=\S)")


def _footer_vendors(layout: PageLayout) -> list[Candidate]:
    """A company name in the page's footer or in a sender line: where the
    vendor is named when the letterhead is only a logo."""
    candidates = []
    height = max(layout.page.height, 1)
    footer = [p for p in layout.lines if p.box[1] > 0.8 * height]
    # A footer holding the business's registration and bank details; a
    # receipt's last lines (a slogan, another company's name) are not one.
    footer_with_ids = any(_FOOTER_IDS.search(p.line.text) for p in footer)
    for placed in layout.lines:
        text = " ".join(placed.line.text.split())
        segments = _SEGMENTS.split(text)
        in_footer = footer_with_ids and placed.box[1] > 0.8 * height
        if len(segments) < 2 and not in_footer:
            continue
        name = strip_registration(segments[0])
        if len(name) < 3 or not is_name_like(name):
            continue
        if not STRONG_SUFFIX.search(name) or ADDRESS_OR_CONTACT.search(name):
            continue
        where = "in the footer" if in_footer else "first in a sender line"
        candidates.append(
            Candidate(
                value=name,
                raw_value=name,
                score=0.6,
                placed=placed,
                explanation=f"company name {where}",
            )
        )
    return candidates


def _clusters(row: Sequence[PlacedLine]) -> list[list[PlacedLine]]:
    """Split a row at wide horizontal gaps: a vendor name on the left and
    "INVOICE" on the right share a row but not a name."""
    clusters: list[list[PlacedLine]] = []
    for placed in row:
        if clusters:
            previous = clusters[-1][-1]
            gap = placed.box[0] - previous.box[2]
            if gap <= 2 * max(previous.height, placed.height):
                clusters[-1].append(placed)
                continue
        clusters.append([placed])
    return clusters


def row_text(row: Sequence[PlacedLine]) -> str:
    return " ".join(" ".join(placed.line.text.split()) for placed in row)


def is_name_like(text: str) -> bool:
    """Could this row be (part of) a business name, rather than a title, an
    address, contact details, a registration number or boilerplate?"""
    letters = sum(ch.isalpha() for ch in text)
    digits = sum(ch.isdigit() for ch in text)
    return not (
        letters < 3
        or digits > letters
        or DOCUMENT_TITLE.match(text)
        or _BOILERPLATE.search(text)
        or _REGISTRATION_LINE.match(text)
        or find_dates(text)
    )


def _vendor_candidate(
    layout: PageLayout,
    row_index: int,
    row: Sequence[PlacedLine],
    median_height: int,
) -> Candidate | None:
    text = _SEGMENTS.split(row_text(row))[0]
    if not is_name_like(text):
        return None
    # "DIMILIKI: BANH MI CAFE SDN BHD" ("owned by:"): the name follows the label.
    label, colon, rest = text.partition(":")
    if colon and STRONG_SUFFIX.search(rest) and not STRONG_SUFFIX.search(label):
        text = rest.strip()
    name = strip_registration(text)
    if len(name) < 3:
        return None
    reasons: list[str] = []
    score = 0.3
    if STRONG_SUFFIX.search(name):
        score += 0.45
        reasons.append("company suffix")
    elif COMPANY_SUFFIX.search(name):
        score += 0.25
        reasons.append("business word")
    elif ADDRESS_OR_CONTACT.search(name):
        score -= 0.25
    height = max(p.height for p in row)
    if height >= 1.3 * max(median_height, 1):
        score += 0.1
        reasons.append("large text")
    if name.upper() == name:
        score += 0.05
    # Vendors head the page: each row further down costs a little.
    score -= 0.04 * row_index
    if row_index <= 1:
        reasons.append("top of page")
    box = row_box(row)
    wrapped = _wrapped_name(layout, row_index, name)
    if wrapped is not None:
        name, box = wrapped
        reasons.append("name wraps over two lines")
    return Candidate(
        value=name,
        raw_value=name,
        score=max(score, 0.01),
        placed=row[0],
        explanation=", ".join(reasons) or "near the top of the page",
        box=box,
    )


def strip_registration(text: str) -> str:
    # "ABC SDN BHD (123456-X)" or "... S/B 273500-U (KSB)": the registration
    # number and anything after it are not part of the name.
    return _REGISTRATION_TAIL.sub("", text).strip(" ,:-(")


def _wrapped_name(
    layout: PageLayout, row_index: int, name: str
) -> tuple[str, Box] | None:
    """Join a name printed over two rows: a bare suffix row ("SDN BHD") after the
    name, or a name start ("LIAN CHI PU TIAN VEGETARIAN") before a short
    "RESTAURANT SDN BHD" / "CO. (M) SDN BHD" row."""
    rows = layout.rows
    suffix = STRONG_SUFFIX.search(name)
    if suffix is None:
        if row_index + 1 >= len(rows):
            return None
        next_text = strip_registration(row_text(rows[row_index + 1]))
        dangling = re.search(r"(?i)(?:&|\band)$", name)
        if (
            (dangling or STRONG_SUFFIX.search(next_text))
            and len(next_text.split()) <= 3
            and is_name_like(next_text)
            and not ADDRESS_OR_CONTACT.search(next_text)
        ):
            return f"{name} {next_text}", _union(
                row_box(rows[row_index]), row_box(rows[row_index + 1])
            )
        return None
    head = name[: suffix.start()].split()
    continues_above = (
        len(head) <= 1
        or head[0].upper() in ("CO.", "&", "AND")
        or name.count(")") > name.count("(")
    )
    if row_index == 0 or not continues_above:
        return None
    # Take up to two name-like rows above, stopping at an address, a title or
    # another company's name.
    first = row_index
    while first > max(0, row_index - 2):
        above = row_text(rows[first - 1])
        if (
            not is_name_like(above)
            or STRONG_SUFFIX.search(above)
            or ADDRESS_OR_CONTACT.search(above)
        ):
            break
        first -= 1
    if first == row_index:
        return None
    texts = [row_text(rows[index]) for index in range(first, row_index)]
    box = row_box(rows[first])
    for index in range(first + 1, row_index + 1):
        box = _union(box, row_box(rows[index]))
    return " ".join([*texts, name]), box


def _union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
