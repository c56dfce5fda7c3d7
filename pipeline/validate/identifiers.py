"""Checks of bank and tax identifiers: IBAN checksum and country, VAT ids.

The checks themselves are schwifty (IBAN) and python-stdnum (VAT, per
country); these functions turn their exceptions into sentences for a clerk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import stdnum
from schwifty import BIC as SchwiftyBic
from schwifty import IBAN as SchwiftyIban
from schwifty.exceptions import (
    InvalidChecksumDigits,
    InvalidCountryCode,
    InvalidLength,
    SchwiftyException,
)
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    ValidationError,
)
from stdnum.exceptions import (
    InvalidLength as VatInvalidLength,
)

from pipeline.validate.fields import label
from pipeline.validate.types import (
    BIC,
    IBAN,
    VENDOR_VAT_ID,
    InvoiceData,
    Issue,
    ValidationContext,
)
from pipeline.validate.vendors import match_vendor
from pipeline.validate.wording import compact_iban, mask_iban

if TYPE_CHECKING:
    from stdnum.util import NumberValidationModule

# VAT ids carry the EU prefix, which differs from ISO 3166 for Greece.
_VAT_PREFIX_TO_COUNTRY = {"EL": "GR", "XI": "GB"}


@dataclass(frozen=True)
class IdentifierCheck:
    """The outcome of checking one identifier: its compact form, its country
    (ISO 3166 alpha-2, "" when unknown) and, when it is wrong, why."""

    compact: str
    country: str
    problem: str = ""

    @property
    def valid(self) -> bool:
        return not self.problem


def check_iban(text: str) -> IdentifierCheck:
    """Is `text` an IBAN with a known country, the right length and checksum?"""
    compact = compact_iban(text)
    country = compact[:2] if re.fullmatch(r"[A-Z]{2}.*", compact) else ""
    try:
        SchwiftyIban(compact)
    except InvalidCountryCode:
        return IdentifierCheck(compact, "", f"“{compact[:2]}” is no IBAN country")
    except InvalidLength:
        return IdentifierCheck(
            compact, country, f"it has {len(compact)} characters, the wrong length"
        )
    except InvalidChecksumDigits:
        return IdentifierCheck(
            compact, country, "its check digits do not match (a misread character?)"
        )
    except SchwiftyException as error:
        return IdentifierCheck(compact, country, str(error).rstrip(".").lower())
    return IdentifierCheck(compact, country)


def _vat_module(country: str) -> NumberValidationModule | None:
    """python-stdnum's VAT module for an ISO country code, if it has one."""
    return stdnum.get_cc_module(country.lower(), "vat")


def check_vat_id(text: str, *, default_country: str = "") -> IdentifierCheck:
    """Is `text` a VAT id with a valid format and check digits for its country?

    The country comes from the id's own prefix ("DE811907980"), else from
    `default_country`. A country python-stdnum has no VAT module for gives a
    check with `country` "" and no problem: nothing could be checked.
    """
    compact = re.sub(r"[\s.\-/]", "", text).upper()
    prefix = compact[:2]
    if re.fullmatch(r"[A-Z]{2}", prefix) and _vat_module(
        _VAT_PREFIX_TO_COUNTRY.get(prefix, prefix)
    ):
        country = _VAT_PREFIX_TO_COUNTRY.get(prefix, prefix)
    else:
        country = default_country.upper()
    module = _vat_module(country) if country else None
    if module is None:
        return IdentifierCheck(compact, "")
    try:
        module.validate(compact)
    except InvalidChecksum:
        problem = "its check digits do not match (a misread character?)"
    except VatInvalidLength:
        problem = f"it has the wrong length for a {country} VAT id"
    except (InvalidFormat, InvalidComponent):
        problem = f"it is not in the format of a {country} VAT id"
    except ValidationError as error:
        problem = str(error).rstrip(".").lower()
    else:
        return IdentifierCheck(compact, country)
    return IdentifierCheck(compact, country, problem)


def iban_valid(invoice: InvoiceData, context: ValidationContext) -> list[Issue]:
    """The IBAN has a known country, the right length and matching check digits;
    its country is the vendor's when the vendor master knows it (warning)."""
    text = invoice.value(IBAN)
    if not text:
        return []
    check = check_iban(text)
    if not check.valid:
        return [
            Issue(
                code="iban_invalid",
                severity="error",
                fields=(IBAN,),
                message=f"The IBAN {mask_iban(text)} is not valid: {check.problem}.",
                details={"problem": check.problem},
            )
        ]
    match = match_vendor(invoice, context)
    vendor = context.vendor(match.vendor_id) if match else None
    if vendor is None or not vendor.country or vendor.country == check.country:
        return []
    return [
        Issue(
            code="iban_country_mismatch",
            severity="warning",
            fields=(IBAN,),
            message=(
                f"The IBAN {mask_iban(text)} is held in {check.country}, but "
                f"{vendor.name} is registered in {vendor.country}."
            ),
            details={"iban_country": check.country, "vendor_country": vendor.country},
        )
    ]


def vat_id_valid(invoice: InvoiceData, context: ValidationContext) -> list[Issue]:
    """The vendor VAT id has its country's format and check digits.

    Ids of countries without a VAT check in python-stdnum pass unchecked.
    """
    text = invoice.value(VENDOR_VAT_ID)
    if not text:
        return []
    match = match_vendor(invoice, context)
    vendor = context.vendor(match.vendor_id) if match else None
    check = check_vat_id(text, default_country=vendor.country if vendor else "")
    if check.valid:
        return []
    return [
        Issue(
            code="vat_id_invalid",
            severity="error",
            fields=(VENDOR_VAT_ID,),
            message=f"The {label(VENDOR_VAT_ID)} {text} is not valid: {check.problem}.",
            details={"country": check.country, "problem": check.problem},
        )
    ]


def bic_valid(invoice: InvoiceData, context: ValidationContext) -> list[Issue]:
    """The BIC has the form of one (8 or 11 characters, a known country), and
    its bank is in the IBAN's country (warning otherwise)."""
    text = invoice.value(BIC)
    if not text:
        return []
    compact = "".join(text.split()).upper()
    try:
        bic = SchwiftyBic(compact)
    except InvalidLength:
        problem = f"it has {len(compact)} characters; a BIC has 8 or 11"
    except InvalidCountryCode:
        problem = f"“{compact[4:6]}” in it is no country"
    except SchwiftyException as error:
        problem = str(error).rstrip(".").lower()
    else:
        iban = check_iban(invoice.value(IBAN)) if invoice.value(IBAN) else None
        if iban is None or not iban.valid or iban.country == bic.country_code:
            return []
        return [
            Issue(
                code="bic_iban_country_mismatch",
                severity="warning",
                fields=(BIC, IBAN),
                message=(
                    f"The BIC {compact} is of a bank in {bic.country_code}, but "
                    f"the IBAN {mask_iban(iban.compact)} is held in {iban.country}."
                ),
                details={"bic_country": bic.country_code, "iban_country": iban.country},
            )
        ]
    return [
        Issue(
            code="bic_invalid",
            severity="error",
            fields=(BIC,),
            message=f"The BIC {compact} is not valid: {problem}.",
            details={"problem": problem},
        )
    ]
