"""The parties: the customer's name after its label, and the vendor's address
under its name (registration numbers and contact lines cut off).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipeline.extract.candidates import Candidate, choose
from pipeline.extract.labelled_text import (
    LabelledText,
    explain,
    labelled_texts,
    weighted_labels,
)
from pipeline.extract.layout import (
    PageLayout,
    PlacedLine,
    overlaps_horizontally,
    overlaps_vertically,
)
from pipeline.extract.normalize import (
    find_dates,
)
from pipeline.extract.party_repair import space_brackets
from pipeline.types import Box, FieldValue

_CUSTOMER_LABELS = weighted_labels(
    (
        r"bill(?:ed)?\s*to|sold\s*to|invoice\s*to|invoiced\s*to"
        r"|advertiser(?!\s*(?:code|id|no|number|#|ref|account)|'s)",
        1.0,
    ),
    (r"rechnungs?(?:empf[äa]nger|adresse|\s*an)|factur[ée]\s*[àa]|destinataire", 1.0),
    (r"customer(?:\s*name)?(?!\s*(?:no|number|id|#|copy|code|ref|service))", 0.85),
    (r"client(?!\s*(?:no|number|id|#|code|ref))|buyer|kunde(?!\w)", 0.85),
    (r"ship\s*to|deliver\s*to|attn\.?|attention", 0.55),
)
_NOT_A_NAME = re.compile(
    r"(?i)^\W*(?:invoice|date|no\.?|number|page|total|amount|address|tel|phone|fax"
    r"|e-?mail|www|http)\b"
    # Another party's heading in the next column ("Rechnungsempfänger |
    # Warenempfänger"), not a name.
    r"|^\W*\w*empf[äa]nger\W*$"
)

# A column's label beside the customer's ("Original Date / Revision"): no
# name says "date".
_ANOTHER_FIELD = re.compile(r"(?i)\b(?:date|datum|revision)\b")


def customer_name(layouts: Sequence[PageLayout]) -> FieldValue | None:
    candidates = []
    for found, weight in labelled_texts(layouts, _CUSTOMER_LABELS):
        # "Biden for President(33138)": OCR drops the space before a bracket.
        text = " ".join(space_brackets(found.text).split()).strip(" :,")
        letters = sum(ch.isalpha() for ch in text)
        digits = sum(ch.isdigit() for ch in text)
        if letters < 3 or digits > letters or _NOT_A_NAME.match(text):
            continue
        if _ANOTHER_FIELD.search(text):
            continue
        if find_dates(text) or _in_a_sentence(found):
            continue
        candidates.append(
            Candidate(
                value=text,
                raw_value=text,
                score=0.82 * weight * found.location_weight,
                placed=found.placed,
                explanation=explain(found),
            )
        )
    return choose("customer_name", candidates)


def _in_a_sentence(found: LabelledText) -> bool:
    """The label is a word of running text ("... the advertiser shall pay"),
    not a heading: terms and conditions name the customer's role too."""
    lowercase_words = re.findall(r"(?<![\w/-])[a-z]{2,}\b", found.text)
    if len(lowercase_words) >= 3:
        return True
    label_line = found.label_placed.line.text
    return label_line.lower().find(found.label.lower()) > 3


ADDRESS_WORDS = re.compile(
    r"(?i)\b(?:jalan|jln|lorong|taman|kawasan|bandar|road|rd|street|st|avenue|ave"
    r"|blvd|lane|drive|lot|no|block|blk|floor|level|suite|unit|box|strasse|straße"
    r"|str|weg|platz|allee|gasse|rue|boulevard|chemin|place|avenue|via|seksyen"
    r"|persiaran|selangor|johor|kuala|lumpur|penang|pulau|pinang|melaka|perak|kedah"
    r"|pahang|sabah|sarawak|negeri|sembilan|darul|ehsan|takzim|malaysia|germany"
    r"|deutschland|france|usa)\b|\d{4,5}\b|\d+[A-Z]?,"
    # OCR reads "ß" as "B": "LieferantenstraBe 20".
    r"|\w(?:stra(?:ss|ß|b)e|str\.|weg|platz|allee|gasse|damm|ring)\s*\d"
)
CONTACT_OR_ID = re.compile(
    r"(?i)\b(?:tel|telefon|phone|ph|fax|hp|mobile|e-?mail|www|http|gst|sst|reg"
    r"|co\.?\s*no|company\s*no|roc|ssm|vat|ust|tax|invoice|receipt|date|cashier"
    r"|table|bill|iban|bic|roc|br|formerly|licensee|document|doc|telephone"
    r"|facture|rechnung|factuur|fattura|factura"
    r"|thank|welcome|member|order|served|counter|pos|terminal|handelsname"
    r"|steuernummer|gln|siret|hr[ab]\s*\d+)\b|@"
    r"|\d{2,4}[-\s]\d{3,4}[-\s]\d{3,4}|\b0\d{1,2}\s?-\s?\d{6,8}\b|\d+\.\d{2}\b"
    # Malaysian business registration numbers: "(65351-M)", "JM0325955-V".
    r"|\b[A-Z]{0,3}\d{5,}\s*-\s*[A-Z]\b"
    # A box holding only a phone number, its label in the box before it
    # ("Telefon | : +493012345678").
    r"|^\W*(?:\+|0)\d[\d ]{7,}\W*$"
)
# "(JM0517726) NO 12 ..." or a bare "1227039": a registration number printed
# before or instead of the first address line.
_POSTCODE = re.compile(r"(?<![\d-])\d{5}(?![\d-])")
REGISTRATION_PREFIX = re.compile(
    r"(?i)^\s*(?:site\s*:\s*\d+\s*)?(?:\(\s*[A-Z]{0,3}\d{5,}[A-Z-]*\s*\)|\d{6,})?\s*"
)
COMPANY = re.compile(
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
    sender = _address_in_sender_line(
        layout, vendor.value, anchor, comma_before_postcode
    )
    if sender is not None:
        return sender
    below = [
        row
        for row in layout.rows
        if _row_center(row) > anchor[3] - 0.4 * max(p.height for p in row)
    ][:10]
    taken: list[PlacedLine] = []
    skipped = 0
    passed_over: list[PlacedLine] = []
    for row in below:
        near = _in_the_name_s_column(
            [p for p in row if _overlaps(p.box, anchor, layout.page.width)], anchor
        )
        address = [p for p in near if _is_address_line(p.line.text, taken)]
        ends = len(address) < len(near) and bool(taken or address)
        if address:
            if not taken and comma_before_postcode:
                address = _street_above(passed_over, address)
            taken.extend(address)
        elif not taken:
            # Registration numbers, a former name, a branch name may sit
            # between the name and its address.
            skipped += 1
            passed_over = near
            if skipped > 4:
                break
            continue
        if ends or not address or len(taken) >= 5:
            break
    if not taken:
        return None
    value = join_address_lines(
        [" ".join(REGISTRATION_PREFIX.sub("", p.line.text).split()) for p in taken],
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


# "Au bon moulin SARL - 1242 chemin de l'olive - 84340 Malaucène - France":
# the line over a window envelope's address names the sender, then its address.
_SENDER_SEPARATOR = re.compile(r"\s+[-–·•●|]\s+")


def _address_in_sender_line(
    layout: PageLayout, vendor: str, box: Box, comma_before_postcode: bool
) -> FieldValue | None:
    """The address printed after the vendor's name on its sender line, when
    the name (`vendor`, read at `box`) was read from such a line."""
    name = vendor.lower()  # keeps the length, so the text can be cut after it
    for placed in layout.lines:
        text = " ".join(placed.line.text.split())
        if not text.lower().startswith(name) or not overlaps_vertically(
            placed.box, box
        ):
            continue
        segments = _SENDER_SEPARATOR.split(text[len(name) :])[1:]
        parts: list[str] = []
        for segment in segments:
            if not _is_address_line(segment, []) and not (
                parts and _COUNTRY_LINE.fullmatch(segment)
            ):
                break
            parts.append(segment)
        value = join_address_lines(parts, comma_before_postcode=comma_before_postcode)
        if not _POSTCODE.search(value):
            continue
        return choose(
            "vendor_address",
            [
                Candidate(
                    value=value,
                    raw_value=value,
                    score=0.72,
                    placed=placed,
                    explanation="after the vendor's name on its sender line",
                )
            ],
        )
    return None


# "Ecke 12", "Weena 664": a European street line is a name and a house
# number, with no word saying "street" ("Seite 1" is a page number; a
# document's own words are CONTACT_OR_ID's).
_STREET_AND_NUMBER = re.compile(
    r"^(?!(?:seite|page|nr|no)\b)"
    r"[^\W\d][\w.' -]{1,40}\s\d{1,4}\s?[a-zA-Z]?$",
    re.IGNORECASE,
)


def _street_above(
    passed_over: list[PlacedLine], address: list[PlacedLine]
) -> list[PlacedLine]:
    """The address, with the street line printed just above its postcode
    line when the street has no word that marks it as one."""
    if len(passed_over) != 1 or not _POSTCODE_LINE.match(address[0].line.text):
        return address
    street = passed_over[0]
    text = " ".join(street.line.text.split())
    if not _STREET_AND_NUMBER.match(text) or CONTACT_OR_ID.search(text):
        return address
    return [street, *address]


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
        if comma_before_postcode and out and _COUNTRY_LINE.fullmatch(line):
            # The country after the city: an e-invoice states it apart.
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
_COUNTRY_LINE = re.compile(
    r"(?i)\W*(?:deutschland|germany|france|nederland|the\s*netherlands|netherlands"
    r"|belgi(?:que|ë|um)|[öo]sterreich|austria|schweiz|suisse|switzerland|italia|italy"
    r"|espa[ñn]a|spain|luxembourg|united\s*kingdom)\W*"
)


# Money and bank lines ("Total EUR 120,50", "IBAN DE89 ...") are never address
# lines, though "120," looks like a house number to ADDRESS_WORDS. Glued OCR
# ("TotalEUR120,50") is why the words are not bounded on the right.
MONEY_LABEL = re.compile(
    r"(?i)\b(?:total|sub-?total|amount|summe|betrag|balance|iban"
    r"|(?:tax|vat|gst|mwst|bic|swift|bank)\b)"
)


def _is_address_line(text: str, taken: Sequence[PlacedLine]) -> bool:
    text = REGISTRATION_PREFIX.sub("", text)
    if not text or CONTACT_OR_ID.search(text) or find_dates(text):
        return False
    if MONEY_LABEL.search(text):
        return False
    if COMPANY.search(text):
        return False
    if ADDRESS_WORDS.search(text):
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


def _in_the_name_s_column(near: list[PlacedLine], anchor: Box) -> list[PlacedLine]:
    """Of a row's boxes near the name, those of its column: when one lies
    under the name itself, a box a column gap away from it (more than two
    line heights) is the buyer's block beside the seller's, not more of the
    address ("BAHNHOFSTRASSE 99" | "KUNDENWEG 88"). A receipt's line split
    into pieces by OCR keeps its pieces: they are a space apart."""
    under = [p for p in near if overlaps_horizontally(p.box, anchor)]
    if not under:
        return near
    return [
        p
        for p in near
        if p in under
        or min(max(p.box[0] - u.box[2], u.box[0] - p.box[2], 0) for u in under)
        <= 2 * max(p.height, 1)
    ]


def _row_center(row: Sequence[PlacedLine]) -> float:
    return (min(p.box[1] for p in row) + max(p.box[3] for p in row)) / 2


def _overlaps(box: Box, anchor: Box, page_width: int) -> bool:
    # The address block sits in the name's column: overlapping it, within a
    # generous margin for centred receipts whose lines are wider than the name.
    margin = page_width * 0.15
    return box[0] < anchor[2] + margin and box[2] > anchor[0] - margin
