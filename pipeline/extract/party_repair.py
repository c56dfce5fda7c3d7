"""Repairing OCR's misreadings in a chosen vendor name or address, so the value
reads as printed: letters and digits OCR confuses where the word's shape says
which was meant ("SELANG0R", "4030O"), a company suffix read wrongly
("SON BHD", "5/B"), a bracket or postcode glued to its neighbour, and the
contact or tax-id line a span took in at the address's end.

Most rules act only on shapes typed text does not take. Commas and full
stops are different: "5,JALAN" or "SETAPAK. 53200" may be printed so, and
are repaired only in text an OCR engine guessed (see `guessed_by_engine`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from pipeline.types import Box, PageText

# A number with an "O" inside: postcodes and house numbers ("456OO", "4030o").
# Three digits at least, so "NO" or "1O" (a unit letter) are left alone.
_DIGITS_WITH_LETTER_O = re.compile(r"(?<![^\W\d_])\d[\dOo]{2,}(?![^\W\d_])")
# A zero between two letters: "SELANG0R", "FLO0R".
_ZERO_IN_WORD = re.compile(r"(?<=[^\W\d_])0(?=[^\W\d_])")
# A capital "I" inside a capitalised lower-case word is an "l" ("JIn" for
# "Jln", "BIk" for "Blk"); a bar opening one is an "I" ("|poh").
_CAPITAL_I_FOR_L = re.compile(r"(?<=\b[A-Z])I(?=[a-z]+\b)")
_BAR_FOR_I = re.compile(r"(?<![^\s(])\|(?=[a-z]{2})")
# "SDN BHD" with its middle letter misread ("SON BHD", "SIN BHD", "Sán Bhd"),
# and "BHD" read as "BND". Only vowels and marked letters replace the "D":
# "SUN" or "SAN" may be part of a name.
_SDN_MISREAD = re.compile(r"(?i)\b(S)([OIÁÀÂÃÍÌ0])(N\.?\s*B)([HN])(D\b\.?)")
_SUFFIX_BND = re.compile(r"(?i)\b(SDN\.?\s*B)(N)(D)\b")
# "S/B" (sendirian berhad) read as "5/B"; "CO." as "C0.".
_SB_AS_FIVE = re.compile(r"(?<![\w/])5/B\b")
_CO_AS_ZERO = re.compile(r"\bC0\.")
# The suffix glued to the name before it: "THE TOAST F&BSDN BHD".
_SUFFIX_GLUED = re.compile(r"(?<=[^\s(])(?=SDN\.?\s?BHD\b)")
# What is left of a registration number cut off at the name's end:
# "Dion Realties Sdn Bhd (Co.No" read as "... (Co.Ho".
_UNCLOSED_AFTER_SUFFIX = re.compile(
    r"(?i)(\b(?:bhd|berhad|s/b|ltd|inc|gmbh)\.?)\s*\([^()]*$"
)
# An ampersand spaced on one side only: "NO.32& 33" -> "NO.32 & 33"; typed
# text may print it so ("10& 12"), an engine guessing spaces misses one.
_AMPERSAND_HALF_SPACED = re.compile(r"(?<=\w)&(?= \w)|(?<=\w) &(?=\w)")
# Specks OCR reads as marks: "3RD· FLR", "JAYA,'SELANGOR".
_SPECK = re.compile(r"(?<=\w)[·•](?=\s)|(?<=,)['`‘’“”]")
# A lone "8" between two words of a name is its ampersand: "TEO HENG 8 BOOKS".
_AMPERSAND_AS_EIGHT = re.compile(r"(?<=[^\W\d_]) 8 (?=[^\W\d_])")
# "(M)SDN BHD" -> "(M) SDN BHD"; "CO.(M)" -> "CO. (M)".
_CLOSE_BRACKET_GLUED = re.compile(r"\)(?=[^\W_])")
_OPEN_BRACKET_GLUED = re.compile(r"(?<=[^\s(])\(")
# A full stop glued between a place and a postcode is a comma OCR misread
# ("CHERAS.55100 KUALA LUMPUR"); typed text spaces its full stops
# ("PENANG. 10400 PENANG" is printed so).
_STOP_BEFORE_POSTCODE = re.compile(r"(?<=[^\W\d_]{3})\.(?=\d{4,6}\s+[^\W\d_])")
# A tax id or a phone number the span took in after (or before) the address:
# "... SELANGOR (GSTReg.No:000670224384)", "... H/P:012-3163818".
_TRAILING_ID = re.compile(
    r"(?i)\s*\(?\s*\b(?:GST|GS7|SST)\s*(?:REG|ID)?\W*(?:NO|ID)?\W*\d{6,}.*$"
)
_TRAILING_PHONE = re.compile(
    r"(?i)\s*\b(?:H/?P|TEL|FAX|PHONE|MOBILE)\s*(?:NO)?\s*[:.]\s*\+?\d.*$"
)
# "43800DENGKIL": a postcode glued to its town.
_POSTCODE_GLUED = re.compile(r"(?<![\w-])(\d{5})(?=[^\W\d_]{3})")
# Punctuation an OCR engine reads wrongly or spaces as it guesses: a comma
# glued to the next word ("12,JALAN") and a full stop after a word or a
# number where addresses print a comma ("NO 290. JALAN AIR PANAS. SETAPAK").
# Not between digits ("1,500"), nor after an abbreviation ("NO. 5", "JLN.").
_COMMA_GLUED = re.compile(r"(?<!\d),(?=[^\W_])|(?<=\d),(?=[^\W\d_])")
_STOP_FOR_COMMA = re.compile(
    r"(?<=\d)\.(?= [^\W\d_])"
    # A word of three letters or more with a vowel: "JLN." abbreviates.
    r"|(?<![^\W\d_])(?=[^\W\d_]*[AEIOUaeiou])([^\W\d_]{3,})\.(?= [^\W\d_]{2})"
)
_LEADING_ID = re.compile(
    r"(?i)^\s*\(\s*(?:GST|GS7|SST)\s*(?:REG|ID)?\W*(?:NO|ID)?\W*\d{6,}\s*\)\s*"
)


# Marks the languages of Western Europe do not put on these letters, which a
# recogniser with a wide alphabet now and then adds to a plain capital
# ("ŚHAH ALAM", "ČOCHRANE", a union sign for a "U"). A page written in a
# language that uses them (Polish, Czech) prints them often; a stray one or
# two is noise.
_STRAY_MARKS = str.maketrans(
    "ŚśČčŇňŘřŽžŠšĆćŃńŹźŻżĽľŤťĎďĚěŮůŐőŰű\u222a",
    "SsCcNnRrZzSsCcNnZzZzLlTtDdEeUuOoUuU",
)
_STRAY_MARKS_ON_A_PAGE = 2


def strip_stray_marks(text: str, page_text: str) -> str:
    """`text` without the marks OCR added, when the page has so few of them
    that they cannot be its language's."""
    marked = sum(1 for c in page_text if c.translate(_STRAY_MARKS) != c)
    return text if marked > _STRAY_MARKS_ON_A_PAGE else text.translate(_STRAY_MARKS)


def _matching_case(replacement: str, like: str) -> str:
    return replacement.lower() if like.islower() else replacement.upper()


def repair_digits_and_letters(text: str) -> str:
    """ "456OO" -> "45600" and "SELANG0R" -> "SELANGOR": in a word of digits
    an "O" is a zero, in a word of letters a zero is an "O"."""
    text = _DIGITS_WITH_LETTER_O.sub(
        lambda m: m.group(0).replace("O", "0").replace("o", "0"), text
    )
    text = _ZERO_IN_WORD.sub("O", text)
    text = _CAPITAL_I_FOR_L.sub("l", text)
    return _BAR_FOR_I.sub("I", text)


def repair_company_suffix(text: str) -> str:
    """ "SUN VICTORY SON BHD" -> "SUN VICTORY SDN BHD", "99 SPEED MART 5/B" ->
    "99 SPEED MART S/B", "AEON C0.(M)" -> "AEON CO.(M)"."""
    text = _SDN_MISREAD.sub(
        lambda m: (
            m.group(1)
            + _matching_case("D", m.group(2))
            + m.group(3)
            + _matching_case("H", m.group(4))
            + m.group(5)
        ),
        text,
    )
    text = _SUFFIX_BND.sub(
        lambda m: m.group(1) + _matching_case("H", m.group(2)) + m.group(3), text
    )
    text = _SUFFIX_GLUED.sub(" ", text)
    text = _UNCLOSED_AFTER_SUFFIX.sub(r"\1", text)
    text = _SB_AS_FIVE.sub("S/B", text)
    return _CO_AS_ZERO.sub("CO.", text)


def space_brackets(text: str) -> str:
    """A bracketed part set off by spaces, as names and addresses print it."""
    text = _OPEN_BRACKET_GLUED.sub(" (", text)
    return _CLOSE_BRACKET_GLUED.sub(") ", text)


def trim_address_contacts(text: str) -> str:
    """The address without a tax id or phone number OCR'd beside it."""
    text = _LEADING_ID.sub("", text)
    text = _TRAILING_ID.sub("", text)
    return _TRAILING_PHONE.sub("", text).strip()


def repair_vendor_name(text: str) -> str:
    text = repair_company_suffix(repair_digits_and_letters(text))
    text = _AMPERSAND_AS_EIGHT.sub(" & ", text)
    return " ".join(space_brackets(text).split())


def repair_guessed_punctuation(text: str) -> str:
    """Commas and ampersands as addresses print them, where an OCR engine
    glued or misread them: "12,JALAN BESAR. 45600" -> "12, JALAN BESAR,
    45600". A print that glues its commas does so throughout
    ("7/4,KAWASAN TAMPOI,81200"), so glued commas are spaced only where
    spaced ones are at least as many."""
    text = _STOP_FOR_COMMA.sub(lambda m: (m.group(1) or "") + ",", text)
    text = _AMPERSAND_HALF_SPACED.sub(lambda m: m.group(0).replace("&", " & "), text)
    if text.count(", ") >= len(_COMMA_GLUED.findall(text)):
        text = _COMMA_GLUED.sub(", ", text)
    return text


# A line ending in a letter or digit, and the next line opening with a
# postcode and its town: "KAWASAN PERINDUSTRIAN BALAKONG" / "43300 SERI".
_LINE_END_WORD = re.compile(r"(\S*[^\W_])$")
_LINE_START_POSTCODE = re.compile(r"^(\d{4,6})\s+[^\W\d_]")


def restore_line_end_commas(text: str, lines: Sequence[str]) -> str:
    """A comma OCR lost at a line's end, before the postcode line: an engine
    often misses the last mark on a line, and a print that ends its other
    address lines with commas ends that one so too."""
    if not any(line.rstrip().endswith(",") for line in lines[:-1]):
        return text
    for line, following in itertools.pairwise(lines):
        end = _LINE_END_WORD.search(line.rstrip())
        start = _LINE_START_POSTCODE.match(following.lstrip())
        if end is None or start is None:
            continue
        joined = f"{end.group(1)} {start.group(1)}"
        text = text.replace(joined, f"{end.group(1)}, {start.group(1)}", 1)
    return text


def repair_vendor_address(
    text: str, *, guessed: bool = False, lines: Sequence[str] = ()
) -> str:
    if guessed:
        text = restore_line_end_commas(text, lines)
    text = trim_address_contacts(repair_digits_and_letters(text))
    text = _SPECK.sub("", text)
    text = _STOP_BEFORE_POSTCODE.sub(", ", text)
    text = _POSTCODE_GLUED.sub(r"\1 ", text)
    if guessed:
        text = repair_guessed_punctuation(text)
    return " ".join(space_brackets(text).split())


def guessed_by_engine(page: PageText) -> bool:
    """Was the page's text guessed by an OCR engine? A PDF's text layer and
    text recorded as typed carry confidence 1.0 on every line; an engine's
    lines carry its probability, below 1."""
    return any(line.confidence < 1.0 for line in page.lines)


def repair_party_value(
    field: str, text: str, *, guessed: bool = False, lines: Sequence[str] = ()
) -> str:
    """`text` chosen for `field` with OCR's misreadings repaired (its
    punctuation too when an OCR engine `guessed` it from `lines`, the printed
    lines it spans); any other field's value is returned as it is."""
    if field == "vendor_name":
        return repair_vendor_name(text) or text
    if field == "vendor_address":
        return repair_vendor_address(text, guessed=guessed, lines=lines) or text
    return text


def repair_chosen_value(
    field: str, text: str, page: PageText | None, box: Box | None
) -> str:
    """`repair_party_value` for a value read from `box` on `page`."""
    if page is None:
        return repair_party_value(field, text)
    inside = [] if box is None else _lines_inside(page, box)
    guessed = guessed_by_engine(page)
    if guessed:
        text = strip_stray_marks(text, " ".join(line.text for line in page.lines))
    return repair_party_value(field, text, guessed=guessed, lines=inside)


def _lines_inside(page: PageText, box: Box) -> list[str]:
    """The text of the page's lines whose centre lies in `box`, top first."""
    inside = []
    for line in page.lines:
        left, top, right, bottom = line.box
        if (
            box[0] <= (left + right) / 2 <= box[2]
            and box[1] <= (top + bottom) / 2 <= box[3]
        ):
            inside.append((top, left, line.text))
    return [text for _, _, text in sorted(inside)]
