"""What a synthetic invoice says: parties, identifiers, lines and amounts, and
the words and number formats of its language. Everything is drawn from one
seed, and every figure agrees with the others (lines sum to the subtotal, tax
per rate, gross total, amount due after a deposit)."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from faker import Faker

from pipeline.extract.normalize import iban_is_valid, vat_id_is_valid

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Vocabulary:
    """A language's invoice words; each tuple holds interchangeable variants."""

    title: tuple[str, ...]
    number: tuple[str, ...]
    date: tuple[str, ...]
    due: tuple[str, ...]
    po: tuple[str, ...]
    customer: tuple[str, ...]
    subtotal: tuple[str, ...]
    tax: tuple[str, ...]  # "{rate}" is replaced by the rate
    tax_total: str  # the sum of the tax lines when several rates apply
    total: tuple[str, ...]  # the gross total
    amount_due: tuple[str, ...]
    deposit: tuple[str, ...]
    vat_id: tuple[str, ...]
    carried: tuple[str, ...]  # running total at a page break
    page: str  # "{page}" of "{pages}"
    columns: tuple[str, str, str, str, str]  # pos, description, qty, unit, amount
    pay_text: str  # "{amount}", "{due}", "{iban}"
    phone: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Locale:
    code: str
    faker: str
    country: str
    currencies: tuple[str, ...]
    vat_rates: tuple[Decimal, ...]
    decimal_mark: str
    thousands: tuple[str, ...]  # separators this language prints
    date_formats: tuple[str, ...]
    month_names: tuple[str, ...]
    words: Vocabulary


_ITEMS_EN = (
    "Consulting services",
    "Software licence (annual)",
    "Installation and setup",
    "Office chairs",
    "Printer toner black",
    "Maintenance contract",
    "Travel expenses",
    "Training workshop",
    "Hosting, monthly",
    "Spare parts",
)

LOCALES: dict[str, Locale] = {
    "de": Locale(
        "de",
        "de_DE",
        "DE",
        ("EUR",),
        (Decimal(19), Decimal(7)),
        ",",
        (".", ""),
        ("%d.%m.%Y", "{day}. {month} %Y"),
        (
            "Januar",
            "Februar",
            "März",
            "April",
            "Mai",
            "Juni",
            "Juli",
            "August",
            "September",
            "Oktober",
            "November",
            "Dezember",
        ),
        Vocabulary(
            title=("Rechnung", "RECHNUNG", "Rechnung"),
            number=("Rechnungsnummer", "Rechnungs-Nr.", "Rechnung Nr.", "Beleg-Nr."),
            date=("Rechnungsdatum", "Datum", "Belegdatum"),
            due=("Fällig am", "Zahlbar bis", "Fälligkeitsdatum"),
            po=("Bestellnummer", "Ihre Bestellung"),
            customer=("Rechnungsempfänger", "Kunde"),
            subtotal=("Nettobetrag", "Summe netto", "Gesamt netto", "Zwischensumme"),
            tax=("MwSt. {rate} %", "USt. {rate}%", "zzgl. {rate} % MwSt."),
            tax_total="Summe MwSt.",
            total=("Gesamtbetrag", "Rechnungsbetrag", "Bruttobetrag", "Summe brutto"),
            amount_due=("Zahlbetrag", "Zu zahlen", "Offener Betrag"),
            deposit=("abzgl. Anzahlung", "bereits bezahlt"),
            vat_id=("USt-IdNr.", "USt-ID", "Umsatzsteuer-ID"),
            carried=("Übertrag",),
            page="Seite {page} von {pages}",
            columns=("Pos.", "Beschreibung", "Menge", "Einzelpreis", "Gesamt"),
            pay_text="Bitte überweisen Sie {amount} bis zum {due} auf {iban}.",
            phone="Tel.",
            items=(
                "Beratungsleistung",
                "Softwarelizenz (jährlich)",
                "Montage und Inbetriebnahme",
                "Bürostühle",
                "Toner schwarz",
                "Wartungsvertrag",
                "Reisekosten",
                "Schulung",
                "Hosting, monatlich",
                "Ersatzteile",
            ),
        ),
    ),
    "fr": Locale(
        "fr",
        "fr_FR",
        "FR",
        ("EUR",),
        (Decimal(20), Decimal(10), Decimal("5.5")),
        ",",
        (" ", ""),
        ("%d/%m/%Y", "{day} {month} %Y"),
        (
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ),
        Vocabulary(
            title=("Facture", "FACTURE"),
            number=("N° de facture", "Facture n°", "Numéro de facture"),
            date=("Date de facture", "Date"),
            due=("Date d'échéance", "Échéance"),
            po=("Bon de commande", "Votre commande"),
            customer=("Client", "Facturé à"),
            subtotal=("Total HT", "Montant HT"),
            tax=("TVA {rate} %", "TVA {rate}%"),
            tax_total="Total TVA",
            total=("Total TTC", "Montant TTC"),
            amount_due=("Net à payer", "Reste à payer"),
            deposit=("Acompte versé", "Acompte"),
            vat_id=("N° TVA intracommunautaire", "TVA intracom.", "N° TVA"),
            carried=("Report",),
            page="Page {page}/{pages}",
            columns=("Réf.", "Désignation", "Qté", "Prix unitaire", "Montant HT"),
            pay_text="Merci de régler {amount} avant le {due} sur {iban}.",
            phone="Tél.",
            items=(
                "Prestation de conseil",
                "Licence logicielle (annuelle)",
                "Installation et mise en service",
                "Chaises de bureau",
                "Toner noir",
                "Contrat de maintenance",
                "Frais de déplacement",
                "Formation",
                "Hébergement mensuel",
                "Pièces détachées",
            ),
        ),
    ),
    "en": Locale(
        "en",
        "en_GB",
        "GB",
        ("GBP", "GBP", "EUR"),
        (Decimal(20), Decimal(5)),
        ".",
        (",", ""),
        ("%d/%m/%Y", "{day} {month} %Y", "%Y-%m-%d"),
        (
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ),
        Vocabulary(
            title=("Invoice", "INVOICE", "Tax Invoice"),
            number=("Invoice No.", "Invoice Number", "Invoice #"),
            date=("Invoice Date", "Date", "Date of issue"),
            due=("Due Date", "Payment due"),
            po=("PO Number", "Your order"),
            customer=("Bill to", "Invoice to"),
            subtotal=("Subtotal", "Net amount", "Total excl. VAT"),
            tax=("VAT {rate}%", "VAT @ {rate}%"),
            tax_total="Total VAT",
            total=("Total", "Total incl. VAT", "Grand Total", "Invoice Total"),
            amount_due=("Amount due", "Balance due"),
            deposit=("Less deposit paid", "Payment received"),
            vat_id=("VAT Reg No", "VAT No."),
            carried=("Carried forward",),
            page="Page {page} of {pages}",
            columns=("#", "Description", "Qty", "Unit price", "Amount"),
            pay_text="Please pay {amount} by {due} to {iban}.",
            phone="Tel",
            items=_ITEMS_EN,
        ),
    ),
    "it": Locale(
        "it",
        "it_IT",
        "IT",
        ("EUR",),
        (Decimal(22), Decimal(10), Decimal(4)),
        ",",
        (".", ""),
        ("%d/%m/%Y", "{day} {month} %Y"),
        (
            "gennaio",
            "febbraio",
            "marzo",
            "aprile",
            "maggio",
            "giugno",
            "luglio",
            "agosto",
            "settembre",
            "ottobre",
            "novembre",
            "dicembre",
        ),
        Vocabulary(
            title=("Fattura", "FATTURA"),
            number=("Fattura n.", "Numero fattura", "N. fattura"),
            date=("Data fattura", "Data"),
            due=("Scadenza", "Data scadenza"),
            po=("Ordine n.", "Vs. ordine"),
            customer=("Cliente", "Spett.le"),
            subtotal=("Imponibile", "Totale imponibile"),
            tax=("IVA {rate}%", "IVA {rate} %"),
            tax_total="Totale IVA",
            total=("Totale fattura", "Totale documento", "Totale"),
            amount_due=("Netto a pagare", "Totale da pagare"),
            deposit=("Acconto",),
            vat_id=("P.IVA", "Partita IVA"),
            carried=("Riporto",),
            page="Pagina {page} di {pages}",
            columns=("N.", "Descrizione", "Q.tà", "Prezzo", "Importo"),
            pay_text="Pagamento di {amount} entro il {due} su {iban}.",
            phone="Tel.",
            items=(
                "Consulenza",
                "Licenza software (annuale)",
                "Installazione",
                "Sedie da ufficio",
                "Toner nero",
                "Contratto di manutenzione",
                "Spese di trasferta",
                "Formazione",
                "Hosting mensile",
                "Ricambi",
            ),
        ),
    ),
    "nl": Locale(
        "nl",
        "nl_NL",
        "NL",
        ("EUR",),
        (Decimal(21), Decimal(9)),
        ",",
        (".", ""),
        ("%d-%m-%Y", "{day} {month} %Y"),
        (
            "januari",
            "februari",
            "maart",
            "april",
            "mei",
            "juni",
            "juli",
            "augustus",
            "september",
            "oktober",
            "november",
            "december",
        ),
        Vocabulary(
            title=("Factuur", "FACTUUR"),
            number=("Factuurnummer", "Factuurnr."),
            date=("Factuurdatum", "Datum"),
            due=("Vervaldatum",),
            po=("Bestelnummer", "Uw referentie"),
            customer=("Klant", "Factuur aan"),
            subtotal=("Subtotaal", "Totaal excl. btw"),
            tax=("BTW {rate}%", "btw {rate}%"),
            tax_total="Totaal btw",
            total=("Totaal", "Totaal incl. btw", "Factuurbedrag"),
            amount_due=("Te betalen",),
            deposit=("Aanbetaling",),
            vat_id=("BTW-nummer", "Btw-nr."),
            carried=("Transport",),
            page="Pagina {page} van {pages}",
            columns=("Nr.", "Omschrijving", "Aantal", "Prijs", "Bedrag"),
            pay_text="Graag {amount} voor {due} overmaken naar {iban}.",
            phone="Tel.",
            items=(
                "Advieswerkzaamheden",
                "Softwarelicentie (jaarlijks)",
                "Installatie",
                "Bureaustoelen",
                "Toner zwart",
                "Onderhoudscontract",
                "Reiskosten",
                "Training",
                "Hosting per maand",
                "Onderdelen",
            ),
        ),
    ),
    "es": Locale(
        "es",
        "es_ES",
        "ES",
        ("EUR",),
        (Decimal(21), Decimal(10), Decimal(4)),
        ",",
        (".", ""),
        ("%d/%m/%Y", "{day} de {month} de %Y"),
        (
            "enero",
            "febrero",
            "marzo",
            "abril",
            "mayo",
            "junio",
            "julio",
            "agosto",
            "septiembre",
            "octubre",
            "noviembre",
            "diciembre",
        ),
        Vocabulary(
            title=("Factura", "FACTURA"),
            number=("Nº de factura", "Factura nº", "Número de factura"),
            date=("Fecha de factura", "Fecha"),
            due=("Vencimiento", "Fecha de vencimiento"),
            po=("Nº de pedido", "Su pedido"),
            customer=("Cliente", "Facturar a"),
            subtotal=("Base imponible", "Subtotal"),
            tax=("IVA {rate}%", "IVA {rate} %"),
            tax_total="Total IVA",
            total=("Total factura", "Importe total", "Total"),
            amount_due=("Total a pagar", "Importe a pagar"),
            deposit=("Anticipo",),
            vat_id=("NIF-IVA", "CIF/NIF"),
            carried=("Suma y sigue",),
            page="Página {page} de {pages}",
            columns=("Ref.", "Concepto", "Cant.", "Precio", "Importe"),
            pay_text="Rogamos abonen {amount} antes del {due} en {iban}.",
            phone="Tel.",
            items=(
                "Servicios de consultoría",
                "Licencia de software (anual)",
                "Instalación",
                "Sillas de oficina",
                "Tóner negro",
                "Contrato de mantenimiento",
                "Gastos de viaje",
                "Formación",
                "Alojamiento web mensual",
                "Repuestos",
            ),
        ),
    ),
}


@dataclass(frozen=True)
class Party:
    name: str
    address_lines: tuple[str, ...]
    vat_id: str
    phone: str
    email: str


@dataclass(frozen=True)
class Line:
    description: str
    quantity: int
    unit_price: Decimal
    rate: Decimal

    @property
    def amount(self) -> Decimal:
        return (self.unit_price * self.quantity).quantize(CENT)


@dataclass(frozen=True)
class Invoice:
    """One invoice's content. The gross total is `subtotal + tax`; the amount
    due is the total less any deposit already paid."""

    seed: int
    locale: Locale
    currency: str
    vendor: Party
    customer: Party
    iban: str
    bic: str
    number: str
    issued: date
    due: date
    po_number: str | None
    lines: tuple[Line, ...]
    deposit: Decimal

    @property
    def subtotal(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    def tax_by_rate(self) -> dict[Decimal, tuple[Decimal, Decimal]]:
        """rate -> (net base, tax), tax rounded per rate as invoices print it."""
        bases: dict[Decimal, Decimal] = {}
        for line in self.lines:
            bases[line.rate] = bases.get(line.rate, Decimal(0)) + line.amount
        return {
            rate: (base, (base * rate / 100).quantize(CENT, ROUND_HALF_UP))
            for rate, base in sorted(bases.items(), reverse=True)
        }

    @property
    def tax(self) -> Decimal:
        return sum((tax for _, tax in self.tax_by_rate().values()), Decimal(0))

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax

    @property
    def amount_due(self) -> Decimal:
        return self.total - self.deposit

    def address_label(self) -> str:
        return ", ".join(self.vendor.address_lines)


def _valid(make: object, check: object, rng: random.Random) -> str:
    """Draw from `make(rng)` until `check` accepts; the draws are seeded, so
    the result is too."""
    for _ in range(50_000):
        candidate = make(rng)  # type: ignore[operator]
        if check(candidate):  # type: ignore[operator]
            return str(candidate)
    raise RuntimeError("no valid identifier drawn")  # pragma: no cover


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


# The body each country's VAT id has after its prefix; the check digits come
# from drawing until python-stdnum (the product's own check) accepts.
_VAT_BODIES = {
    "DE": lambda rng: "DE" + rng.choice("123456789") + _digits(rng, 8),
    "FR": lambda rng: "FR" + _digits(rng, 2) + rng.choice("3456789") + _digits(rng, 8),
    "GB": lambda rng: "GB" + rng.choice("123456789") + _digits(rng, 8),
    "IT": lambda rng: (
        "IT" + _digits(rng, 7) + f"{rng.randint(1, 100):03d}" + _digits(rng, 1)
    ),
    "NL": lambda rng: "NL" + _digits(rng, 9) + "B0" + rng.choice("123"),
    "ES": lambda rng: "ES" + rng.choice("ABCDEFGHJ") + _digits(rng, 8),
}


def vat_id(country: str, rng: random.Random) -> str:
    """A VAT id of `country` whose check digits hold."""
    return _valid(_VAT_BODIES[country], vat_id_is_valid, rng)


def iban(fake: Faker, rng: random.Random) -> str:
    """The locale's IBAN from Faker, redrawn until schwifty accepts it."""
    return _valid(lambda _rng: fake.iban(), iban_is_valid, rng)


@cache
def _faker(name: str) -> Faker:
    # Building a Faker costs ~0.2 s; reseeding one is what makes it repeatable.
    return Faker(name)


def _party(fake: Faker, locale: Locale, rng: random.Random, country: str) -> Party:
    street = " ".join(fake.street_address().split())
    if locale.code == "en":
        lines: tuple[str, ...] = (street, fake.city(), fake.postcode())
    else:
        lines = (street, f"{fake.postcode()} {fake.city()}")
    return Party(
        name=" ".join(fake.company().split()),
        address_lines=lines,
        vat_id=vat_id(country, rng),
        phone=fake.phone_number(),
        email=fake.company_email(),
    )


def _invoice_number(rng: random.Random, issued: date) -> str:
    shapes = (
        lambda: f"RE-{issued.year}-{rng.randint(1, 9999):04d}",
        lambda: f"{issued.year}{rng.randint(1, 99999):05d}",
        lambda: f"INV-{rng.randint(10000, 999999)}",
        lambda: f"F{issued.year % 100:02d}{issued.month:02d}-{rng.randint(1, 999):03d}",
        lambda: str(rng.randint(100000, 9999999)),
        lambda: f"{rng.choice('ABCFGR')}{rng.randint(1000, 99999)}/{issued.year % 100}",
    )
    return rng.choice(shapes)()


def _quantity_and_price(rng: random.Random) -> tuple[int, Decimal]:
    if rng.random() < 0.5:
        return 1, Decimal(rng.randint(2000, 250000)) / 100
    return rng.randint(2, 40), Decimal(rng.randint(150, 40000)) / 100


def make_invoice(seed: int, locale_code: str | None = None) -> Invoice:
    """The invoice of `seed` (in `locale_code`, else a locale the seed picks)."""
    rng = random.Random(seed)
    locale = LOCALES[locale_code or rng.choice(sorted(LOCALES))]
    fake = _faker(locale.faker)
    fake.seed_instance(seed)
    vendor = _party(fake, locale, rng, locale.country)
    customer_country = (
        locale.country if rng.random() < 0.8 else rng.choice(sorted(_VAT_BODIES))
    )
    customer = _party(fake, locale, rng, customer_country)
    issued = date(2019, 1, 1) + timedelta(days=rng.randint(0, 6 * 365))
    # Mostly a handful of lines; sometimes enough to run over several pages.
    count = rng.choice(
        [rng.randint(1, 8)] * 7 + [rng.randint(9, 28)] * 2 + [rng.randint(29, 60)]
    )
    rates = locale.vat_rates if rng.random() < 0.3 else locale.vat_rates[:1]
    lines = tuple(
        Line(
            rng.choice(locale.words.items),
            *_quantity_and_price(rng),
            rng.choice(rates),
        )
        for _ in range(count)
    )
    draft = Invoice(
        seed=seed,
        locale=locale,
        currency=rng.choice(locale.currencies),
        vendor=vendor,
        customer=customer,
        iban=iban(fake, rng),
        bic=fake.swift(length=rng.choice((8, 11))),
        number=_invoice_number(rng, issued),
        issued=issued,
        due=issued + timedelta(days=rng.choice((7, 10, 14, 30, 30, 60))),
        po_number=f"PO-{rng.randint(1000, 99999)}" if rng.random() < 0.35 else None,
        lines=lines,
        deposit=Decimal(0),
    )
    if rng.random() < 0.15:
        # A deposit already paid: the amount due is then less than the total.
        share = Decimal(rng.choice((10, 20, 25, 30, 50))) / 100
        return replace(draft, deposit=(draft.total * share).quantize(CENT))
    return draft


def format_amount(value: Decimal, locale: Locale, thousands: str) -> str:
    """`value` as the locale prints it: "1.234,56" (de), "1 234,56" (fr),
    "1,234.56" (en), with or without thousands separators."""
    sign = "-" if value < 0 else ""
    whole, cents = f"{abs(value):.2f}".split(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return f"{sign}{thousands.join(groups)}{locale.decimal_mark}{cents}"


CURRENCY_SIGNS = {"EUR": "€", "GBP": "£"}


def format_money(
    value: Decimal, locale: Locale, currency: str, thousands: str, style: str
) -> str:
    """An amount with its currency in one of the styles invoices use."""
    number = format_amount(value, locale, thousands)
    sign = CURRENCY_SIGNS.get(currency, currency)
    if style == "code_before":
        return f"{currency} {number}"
    if style == "code_after":
        return f"{number} {currency}"
    if style == "none":
        return number
    if currency == "GBP" or locale.decimal_mark == ".":
        return f"{sign}{number}"
    return f"{number} {sign}"


def format_date(value: date, locale: Locale, pattern: str) -> str:
    text = pattern.replace("{day}", str(value.day)).replace(
        "{month}", locale.month_names[value.month - 1]
    )
    return value.strftime(text)
