"""Turn printed amounts, dates and currency marks into canonical values.

Everything here works on plain strings and returns `None` (or an empty list) for
text it cannot read with reasonable certainty; nothing raises on odd input.
OCR output often drops spaces ("12Mar201818:19", "RM33.90"), so the patterns do
not rely on word boundaries between numbers and letters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from itertools import chain
from typing import Any

import dateparser
from schwifty import BIC, IBAN
from schwifty.exceptions import InvalidCountryCode
from schwifty.registry import get_iban_spec
from stdnum.exceptions import ValidationError
from stdnum.util import get_cc_module

MIN_YEAR = 1990
MAX_YEAR = 2100

# Thousands separators seen in print: comma, dot, apostrophe (Swiss) and the
# various spaces PDF text layers produce.
_SPACES = " \u00a0\u202f\u2009"
_CURRENCY_NOISE = re.compile(
    r"(?i)(?<![a-z])(?:RM|MYR|USD|EUR|GBP|CHF|SGD|AUD|CAD|JPY|INR|Rs)(?![a-z])"
    r"|[$€£¥₹]|S\$|\*"
)

# An amount as printed: digits with optional grouping, and a 1-2 digit decimal
# part after "." or ",". Grouped integers ("1,234") are accepted too.
_AMOUNT_BODY = (
    r"\d{1,3}(?:[,.' \u00a0\u202f]\d{3})+(?:[.,]\d{1,2})?"  # grouped
    r"|\d+[.,]\d{1,2}"  # plain decimal
    r"|\d+"  # bare integer
    r"|(?<![\d.,])\.\d{2}"  # ".02": some tills drop the leading zero
)
_MINUS_SIGN = "\u2212"
_TAX_CODE = re.compile(r"(?i)(?:SR|ZRL?|[SZTE])\b")
_AMOUNT_PATTERN = re.compile(
    r"(?<![\d.,/:])"
    r"(?:(?P<sign>[-\u2212(])\s?)?"
    r"(?:(?P<currency>RM|MYR|USD|EUR|GBP|CHF|SGD|S\$|\$|€|£|¥)\s?)?"
    r"(?P<sign2>-)?"
    r"(?P<body>" + _AMOUNT_BODY + r")"
    r"(?![\d/:])"
    r"(?:\s?(?P<trailing>[-)]))?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class AmountMatch:
    """An amount found inside a longer text, with its printed span."""

    raw: str
    value: Decimal
    start: int
    end: int
    has_decimals: bool
    has_currency: bool


@dataclass(frozen=True)
class DateMatch:
    """A date found inside a longer text, with its printed span."""

    raw: str
    value: date
    start: int
    end: int
    pattern: str  # human description, e.g. "dd/mm/yyyy"
    ambiguous: bool  # day and month could be swapped


def parse_amount(text: str) -> Decimal | None:
    """Read one printed amount ("1.234,56", "RM 33.90", "-8,79", "(12.00)").

    Returns None when the text holds anything but a single amount.
    """
    cleaned = _CURRENCY_NOISE.sub("", text).strip()
    negative = False
    if cleaned.startswith("(") and cleaned.endswith(")"):
        negative, cleaned = True, cleaned[1:-1].strip()
    if cleaned[:1] in ("-", _MINUS_SIGN):
        negative, cleaned = True, cleaned[1:].strip()
    elif cleaned.endswith("-"):
        # Some tills print credits as "8.79-".
        negative, cleaned = True, cleaned[:-1].strip()
    cleaned = _CURRENCY_NOISE.sub("", cleaned).strip()
    if cleaned.startswith("."):
        cleaned = "0" + cleaned  # ".02" from tills that drop the leading zero
    if not re.fullmatch(r"\d[\d,.' \u00a0\u202f\u2009]*", cleaned):
        return None
    digits = _amount_digits(cleaned)
    if digits is None:
        return None
    try:
        value = Decimal(digits)
    except InvalidOperation:
        return None
    return -value if negative else value


def _amount_digits(cleaned: str) -> str | None:
    """Resolve which separator is the decimal point and drop the grouping ones."""
    compact = cleaned.translate({ord(c): None for c in _SPACES + "'"})
    last_dot, last_comma = compact.rfind("."), compact.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        # Both present: whichever comes last is the decimal separator.
        decimal_sep = "." if last_dot > last_comma else ","
    elif last_dot >= 0 or last_comma >= 0:
        sep = "." if last_dot >= 0 else ","
        head, _, tail = compact.rpartition(sep)
        many = compact.count(sep) > 1
        # "1,234" and "1.234.567" are grouping; "12,50" and "0.125" are decimals.
        grouping = many or (len(tail) == 3 and head not in ("", "0"))
        decimal_sep = "" if grouping else sep
    else:
        decimal_sep = ""
    if decimal_sep:
        integer_part, _, fraction = compact.rpartition(decimal_sep)
    else:
        integer_part, fraction = compact, ""
    groups = re.split(r"[,.]", integer_part)
    if len(groups) > 1 and (
        not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])
    ):
        return None  # "12.3.4" is not a grouped number
    integer_digits = "".join(groups)
    if not integer_digits.isdigit() or not (fraction == "" or fraction.isdigit()):
        return None
    return f"{integer_digits}.{fraction}" if fraction else integer_digits


def format_amount(value: Decimal) -> str:
    """Plain decimal string with two decimals: Decimal("33.9") -> "33.90"."""
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):f}"


def normalize_amount(text: str) -> str | None:
    """`parse_amount` then `format_amount`; None for anything unreadable."""
    value = parse_amount(text)
    return None if value is None else format_amount(value)


def find_amounts(text: str) -> list[AmountMatch]:
    """Every amount-looking span in a line of text, left to right."""
    found: list[AmountMatch] = []
    for match in _AMOUNT_PATTERN.finditer(text):
        body = match.group("body")
        # A digit glued to letters ("SH01", "T4", "48MM") is a code, not money.
        before = text[: match.start()]
        after = text[match.end() :]
        if before[-1:].isalpha() and not match.group("currency"):
            continue
        # "@6%" and "6 %" are rates, "@ 12.00" a unit price.
        if after.lstrip().startswith("%") or before.rstrip().endswith("@"):
            continue
        # Letters glued after the digits make a code ("48MM"), except the tax
        # codes Malaysian tills print after each amount ("3.12S", "13.94ZR").
        if after[:1].isalpha() and not _TAX_CODE.match(after):
            continue
        negative = bool(
            match.group("sign") in ("-", _MINUS_SIGN)
            or match.group("sign2")
            or (match.group("sign") == "(" and match.group("trailing") == ")")
            or (match.group("trailing") == "-" and not after.lstrip("-")[:1].isdigit())
        )
        value = parse_amount(body)
        if value is None:
            continue
        found.append(
            AmountMatch(
                raw=match.group(0).strip(),
                value=-value if negative else value,
                start=match.start(),
                end=match.end(),
                has_decimals=bool(re.search(r"[.,]\d{1,2}$", body)),
                has_currency=bool(match.group("currency")),
            )
        )
    return found


# --- dates -----------------------------------------------------------------

_NUMERIC_DATE = re.compile(
    r"(?<![\d.,/-])"
    r"(?P<a>\d{1,2})(?P<sep>\s?[./-]\s?)(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})"
)
# OCR glues a till's counter before the date and the time after it
# ("#001-0934-000105/01/201813:30"). Digits right before a date are believed
# only in that shape: two-figure day and month, four-figure year, a time after.
_DATE_AFTER_DIGITS = re.compile(
    r"(?<=\d)(?P<a>\d{2})(?P<sep>[./-])(?P<b>\d{2})(?P=sep)(?P<y>\d{4})"
    r"(?=\d{1,2}:\d{2})"
)
# OCR reads a printed hyphen as a tilde now and then ("05~05-17").
_MISREAD_SEPARATORS = str.maketrans({"~": "-"})
_ISO_DATE = re.compile(
    r"(?<![\d.,/-])(?P<y>\d{4})(?P<sep>[./-])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})"
    r"(?![\d])"
)
# Month written as a word, either side of the day: "12 Mar 2018", "12-MAR-18",
# "12Mar2018", "March 12, 2018", "16. September 2019", "1er mars 2020".
_WORD = r"[A-Za-zÀ-ÿ]{3,10}\.?"
# Spanish and Portuguese join the parts with "de": "16 de noviembre de 2020".
_DAY_WORD_DATE = re.compile(
    r"(?<![\d])(?P<d>\d{1,2})(?:er|st|nd|rd|th)?\.?[\s/-]{0,2}(?:de\s+)?"
    r"(?P<m>" + _WORD + r")[\s,/-]{0,2}(?:de(?:l)?\s+)?(?P<y>\d{4}|\d{2})"
)
_WORD_DAY_DATE = re.compile(
    r"(?<![A-Za-zÀ-ÿ])(?P<m>" + _WORD + r")[\s.-]{0,2}(?P<d>\d{1,2})"
    r"(?:st|nd|rd|th)?,?[\s/-]{0,2}(?P<y>\d{4}|\d{2})"
)
# First three letters of month names in the languages below; a cheap filter so
# dateparser only sees words that can be months.
_MONTH_PREFIXES = frozenset(
    re.split(
        r"\s+",
        "jan feb fev fév mar mär maa mac apr avr abr may mai mei mag maj jun jui "
        "giu jul lug aug aoû aou ago ogo ags sep set okt oct ott out nov dec dez déc "
        "dic dis ene gen",
    )
)
_DATEPARSER_LANGUAGES = ["en", "de", "fr", "ms", "nl", "es", "it", "pt"]
# What may follow a year directly: nothing numeric (nor "/15", which makes it
# a longer number sequence), or a time, glued on or after a dash
# ("07/04/2018-18.10:59" on some tills).
_GLUED_TAIL_OK = re.compile(r"(?!\d|[./-]\d)|\d{1,2}:\d{2}|-\d{1,2}[:.]\d{2}")


def _full_year(year_text: str) -> int:
    year = int(year_text)
    if len(year_text) == 2:
        # Two-digit years on invoices are this century's in practice.
        year += 2000
    return year


def valid_date(year: int, month: int, day: int) -> date | None:
    """The date, if it exists and its year is one an invoice may carry."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def find_dates(text: str, *, day_first: bool = True) -> list[DateMatch]:
    """Every plausible date in a line of text, left to right.

    `day_first` settles dates like 03/04/2019 that read both ways; a date that
    only reads one way ("25/12/2018", "12/25/2018") is taken that way.
    """
    found: list[DateMatch] = []
    taken: list[tuple[int, int]] = []

    def add(match_start: int, match_end: int, found_date: DateMatch) -> None:
        if any(s < match_end and match_start < e for s, e in taken):
            return
        taken.append((match_start, match_end))
        found.append(found_date)

    for match in _ISO_DATE.finditer(text):
        value = valid_date(int(match["y"]), int(match["m"]), int(match["d"]))
        if value:
            sep = match["sep"]
            add(
                match.start(),
                match.end(),
                DateMatch(
                    match.group(0),
                    value,
                    match.start(),
                    match.end(),
                    f"yyyy{sep}mm{sep}dd",
                    ambiguous=False,
                ),
            )

    scan = text.translate(_MISREAD_SEPARATORS)
    for match in chain(_NUMERIC_DATE.finditer(scan), _DATE_AFTER_DIGITS.finditer(scan)):
        first, second = int(match["a"]), int(match["b"])
        sep = match["sep"].strip()
        for year_text in _year_candidates(match["y"], scan[match.end("y") :]):
            year = _full_year(year_text)
            as_day_first = valid_date(year, second, first)
            as_month_first = valid_date(year, first, second)
            if as_day_first and as_month_first and first != second:
                value = as_day_first if day_first else as_month_first
                ambiguous = True
            else:
                value = as_day_first or as_month_first
                ambiguous = False
            if value is None:
                continue
            order = ("dd{0}mm{0}" if value == as_day_first else "mm{0}dd{0}").format(
                sep
            )
            end = match.start("y") + len(year_text)
            add(
                match.start(),
                end,
                DateMatch(
                    text[match.start() : end],
                    value,
                    match.start(),
                    end,
                    order + "y" * len(year_text),
                    ambiguous,
                ),
            )
            break

    for pattern, description in (
        (_DAY_WORD_DATE, "day month-name year"),
        (_WORD_DAY_DATE, "month-name day, year"),
    ):
        for match in pattern.finditer(text):
            for year_text in _year_candidates(match["y"], text[match.end("y") :]):
                end = match.start("y") + len(year_text)
                value = _parse_worded_date(match["d"], match["m"], year_text)
                if value is None:
                    continue
                add(
                    match.start(),
                    end,
                    DateMatch(
                        text[match.start() : end],
                        value,
                        match.start(),
                        end,
                        description,
                        ambiguous=False,
                    ),
                )
                break

    found.sort(key=lambda d: d.start)
    return found


def _year_candidates(year_text: str, after: str) -> list[str]:
    """Which year digits to believe when more digits are glued after them.

    OCR joins a date and its time: "12-01-1921:13" (2-digit year + "21:13") or
    "12Mar201818:19" (4-digit year + "18:19"). A year followed by unrelated
    digits ("12/01/20190") is not a date at all.
    """
    glued = year_text + after
    candidates = [year_text] if len(year_text) == 4 else []
    candidates.append(year_text[:2])
    return [c for c in candidates if _GLUED_TAIL_OK.match(glued[len(c) :])]


@lru_cache(maxsize=4096)
def _parse_worded_date(day: str, month_word: str, year_text: str) -> date | None:
    if month_word[:3].lower() not in _MONTH_PREFIXES:
        return None
    parsed = dateparser.parse(
        f"{int(day)} {month_word} {year_text}",
        languages=_DATEPARSER_LANGUAGES,
        settings={
            "STRICT_PARSING": True,
            "REQUIRE_PARTS": ["day", "month", "year"],
            "DATE_ORDER": "DMY",
        },
    )
    if parsed is None:
        return None
    return valid_date(parsed.year, parsed.month, parsed.day)


def normalize_date(text: str, *, day_first: bool = True) -> str | None:
    """ISO yyyy-mm-dd of the first date in `text`, or None."""
    dates = find_dates(text, day_first=day_first)
    return dates[0].value.isoformat() if dates else None


# --- currency ----------------------------------------------------------------

# Codes and symbols, most specific first so "S$" is not read as "$".
_CURRENCY_MARKS: tuple[tuple[re.Pattern[str], str, bool], ...] = tuple(
    (re.compile(pattern), code, explicit)
    for pattern, code, explicit in (
        (r"(?<![A-Z])S\$|\bSGD\b", "SGD", True),
        (r"(?<![A-Z])A\$|\bAUD\b", "AUD", True),
        (r"(?<![A-Z])C\$|\bCAD\b", "CAD", True),
        (r"HK\$|\bHKD\b", "HKD", True),
        (r"NZ\$|\bNZD\b", "NZD", True),
        (r"\bUSD\b|US\$", "USD", True),
        (r"(?<![A-Z])\$", "USD", False),
        (r"\bMYR\b", "MYR", True),
        (r"(?<![A-Za-z])RM(?=\s?\d|\)|\b)", "MYR", False),
        (r"€|\bEUR\b|\bEuro\b", "EUR", True),
        (r"£|\bGBP\b", "GBP", True),
        (r"\bCHF\b|\bFr\.\s?\d", "CHF", True),
        (r"\bJPY\b|¥", "JPY", True),
        (r"\bINR\b|₹", "INR", True),
        (r"\bIDR\b|(?<![A-Za-z])Rp\.?\s?\d", "IDR", True),
        (r"\bTHB\b|฿", "THB", True),
        (r"\bPHP\b|₱", "PHP", True),
        (r"\bCNY\b|\bRMB\b", "CNY", True),
        (r"\bSEK\b|\bNOK\b|\bDKK\b", "", True),  # code read literally below
        (r"\bPLN\b|zł", "PLN", True),
    )
)


def currency_marks(text: str) -> list[tuple[str, bool]]:
    """ISO codes a line of text mentions, each with whether it was explicit
    (an ISO code or an unambiguous symbol) rather than a shared sign like "$"."""
    marks: list[tuple[str, bool]] = []
    for pattern, code, explicit in _CURRENCY_MARKS:
        for match in pattern.finditer(text):
            marks.append((code or match.group(0).upper(), explicit))
    return marks


# --- bank and tax identifiers -------------------------------------------------

_IBAN_SHAPE = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}")
# Every EU country's VAT number holds at least seven digits (AT U12345678,
# ES X1234567L, IE 1234567WA); a word after a VAT label ("ABWEICHENDER") is
# not one.
_VAT_SHAPE = re.compile(r"(?:[A-Z]{2}|EL)(?=(?:[A-Z]*\d){7})[A-Z0-9]{8,12}")


def compact_identifier(text: str) -> str:
    """Upper case without spaces, dots or dashes: how IBANs, BICs and VAT ids
    are stored and compared ("DE12 3456 ..." -> "DE123456...")."""
    return re.sub(r"[\s.\-/]", "", text).upper()


def iban_is_valid(text: str) -> bool:
    """Country, length and ISO 7064 check digits all agree (schwifty)."""
    try:
        IBAN(compact_identifier(text))
    except ValueError:
        return False
    return True


def normalize_iban(text: str) -> str | None:
    """The compact IBAN when `text` is shaped like one, valid or not; None for
    anything else. Whether its check digits hold is `iban_is_valid`."""
    compact = compact_identifier(text)
    if not _IBAN_SHAPE.fullmatch(compact):
        return None
    # An order id shaped like one ("OD304175096047380001") names no country
    # that issues IBANs.
    try:
        get_iban_spec(compact[:2])
    except InvalidCountryCode:
        return None
    return compact


def bank_bic(iban: str) -> str | None:
    """The BIC the bank registry (schwifty's) gives the bank of a valid
    `iban`, None when the IBAN is invalid or its bank has no BIC on record."""
    try:
        bic = IBAN(compact_identifier(iban)).bic
    except ValueError:
        return None
    return str(bic) if bic is not None else None


def bic_matches_bank(bic: str, iban: str) -> bool | None:
    """Whether `bic` is the BIC of `iban`'s bank (institution, country and
    location; the branch code may differ); None when the registry cannot
    tell."""
    registered = bank_bic(iban)
    if registered is None:
        return None
    return compact_identifier(bic)[:8] == registered[:8]


def normalize_bic(text: str) -> str | None:
    """An 8 or 11 character BIC with a known country code (schwifty), else None."""
    compact = compact_identifier(text)
    if not re.fullmatch(r"[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?", compact):
        return None
    try:
        BIC(compact)
    except ValueError:
        return None
    return compact


def normalize_vat_id(text: str) -> str | None:
    """A VAT id with its country prefix, compact ("DE 136 695 976" ->
    "DE136695976"), when shaped like one; whether its check digits hold is
    `vat_id_is_valid`."""
    compact = compact_identifier(text)
    return compact if _VAT_SHAPE.fullmatch(compact) else None


def vat_id_is_valid(text: str) -> bool:
    """The country's own check (python-stdnum) accepts the number; False for
    countries stdnum has no VAT rule for, and for malformed text."""
    module = _vat_module(compact_identifier(text))
    if module is None:
        return False
    try:
        module.validate(compact_identifier(text))
    except ValidationError:
        return False
    return True


def vat_id_is_checkable(text: str) -> bool:
    """Whether python-stdnum knows the VAT rule of the id's country prefix."""
    return _vat_module(compact_identifier(text)) is not None


def _vat_module(compact: str) -> Any:
    country = compact[:2].lower()
    # Greece prints "EL" on VAT ids; its ISO code (and stdnum's module) is "gr".
    country = "gr" if country == "el" else country
    if not country.isalpha():
        return None
    return get_cc_module(country, "vat")
