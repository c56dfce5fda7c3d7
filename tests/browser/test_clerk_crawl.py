"""A clerk signed in to `make run`'s demo fetches everything they can reach and
finds no IBAN, BIC or VAT id of the demo in clear: pages, fragments, JSON,
exports, the API, page images and downloads, text read off images included.

What is fetched is discovered, not listed: every route of the URLconf filled
with the demo's ids, then every link, image, form action and data URL found in
what came back. Values come from the demo's own specifications, so a new demo
document with a new IBAN is covered without touching this test.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import pypdfium2
import pytest
from django.contrib.auth.models import User
from django.urls import Resolver404, get_resolver, resolve
from PIL import Image
from playwright.sync_api import APIRequestContext, Page

from pipeline.types import PageImage
from reviewapp import roles
from reviewapp.demo.documents import demo_batch
from reviewapp.extraction_fields import FIELD_NAMES
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document
from reviewapp.models.fields import LineItem
from reviewapp.services.ingest import document_ingest
from tests.browser.conftest import LoginAs
from tests.browser.demo_cases import (
    approve_bank_change,
    off_the_event_loop,
    wait_until_demo_read,
)
from tests.conftest import REPO

pytestmark = [pytest.mark.browser, pytest.mark.integration]

FIXTURES = REPO / "fixtures"
# Labels that precede a sensitive value where the demo prints one.
_PRINTED_SECRET = re.compile(
    r"(?:IBAN|BIC|USt-IdNr\.|TVA|VAT(?: No\.?)?)\s+([A-Z]{2}[A-Z0-9 ]{6,40}?)(?=\s+-|$)"
)
_SECRET_KEYS = {"iban", "bic", "vat_id", "vendor_vat_id"}
# Ways out a crawl must not take: signing out ends the session, the admin is
# for staff (a clerk is sent to its login page) and static files hold no data.
_SKIP_PREFIXES = ("/accounts/logout", "/static/", "/admin/")
MAX_FETCHES = 4000
_LINK = re.compile(r'(?:href|src|action|data-[a-z-]*url)="([^"#]+)"')


def demo_secrets() -> set[str]:
    """Every IBAN, BIC and VAT id in the demo's documents and master data,
    compact and upper-case."""
    found: set[str] = set()

    def walk(node: object, key: str = "") -> None:
        if isinstance(node, dict):
            for child_key, child in node.items():
                walk(child, child_key)
        elif isinstance(node, list):
            for child in node:
                walk(child, key)
        elif isinstance(node, str):
            if key in _SECRET_KEYS and node:
                found.add(node)
            for match in _PRINTED_SECRET.finditer(node):
                found.add(match[1])

    for path in [FIXTURES / "demo_documents.json", *FIXTURES.glob("master_data/*")]:
        walk(json.loads(path.read_text()))
    return {"".join(value.split()).upper() for value in found}


@dataclass
class Fetched:
    url: str
    status: int
    content_type: str
    body: bytes


@dataclass
class Crawl:
    """What the clerk could fetch, and every text found in it."""

    fetched: list[Fetched] = field(default_factory=list)
    texts: dict[str, list[str]] = field(default_factory=dict)

    def add_text(self, url: str, text: str) -> None:
        self.texts.setdefault(url, []).append(text)


def route_templates() -> list[tuple[str, list[str]]]:
    """Every route of the URLconf as a %-format string and its parameters."""
    resolver = get_resolver()
    templates: dict[str, list[str]] = {}
    for possibilities in resolver.reverse_dict.lists():
        for possibility in possibilities[1]:
            for template, parameters in possibility[0]:
                templates.setdefault("/" + template, list(parameters))
    return sorted(templates.items())


def parameter_values(documents: list[Document]) -> dict[str, list[str]]:
    """What each route parameter may be for the demo: its ids, page numbers,
    fields, audit events, line items, queues and formats."""
    ids = [document.pk for document in documents]
    return {
        "public_id": [str(document.public_id) for document in documents],
        "number": [
            str(number)
            for number in range(1, max(d.page_count or 1 for d in documents) + 1)
        ],
        "name": list(FIELD_NAMES),
        "sequence": [
            str(sequence)
            for sequence in AuditEvent.objects.filter(
                document_public_id__in=[d.public_id for d in documents]
            ).values_list("sequence", flat=True)
        ],
        "line_id": [
            str(pk)
            for pk in LineItem.objects.filter(document_id__in=ids).values_list(
                "pk", flat=True
            )
        ],
        "queue": ["mine", "exceptions", "overview", "new-copy", "split"],
        "fmt": ["csv", "json", "ubl", "xlsx"],
        "format": ["json", "api"],
        "pk": ["1"],
        "job_id": ["none"],
    }


def route_urls(values: dict[str, list[str]]) -> Iterator[tuple[str, str]]:
    """(route, URL) for every route filled with every combination of values."""
    for template, parameters in route_templates():
        choices = [values.get(name, ["x"]) for name in parameters]
        for combination in itertools.product(*choices):
            url = template % dict(zip(parameters, combination, strict=True))
            yield template, url.replace("\\", "")


def links_in(url: str, body: str) -> Iterable[str]:
    for raw in _LINK.findall(body):
        target = urljoin(url, raw.replace("&amp;", "&"))
        parts = urlsplit(target)
        if parts.netloc and parts.netloc != urlsplit(url).netloc:
            continue
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if path.startswith(_SKIP_PREFIXES):
            continue
        try:
            resolve(parts.path)
        except Resolver404:
            continue
        yield path


def crawl(request: APIRequestContext, start: Iterable[tuple[str, str]]) -> Crawl:
    """GET every start URL, then every URL their answers link to; a route that
    refuses GET (405) is not tried again with other values."""
    result = Crawl()
    seen: set[str] = set()
    refused_routes: set[str] = set()
    pending = [(route, url) for route, url in start]
    while pending and len(seen) < MAX_FETCHES:
        route, url = pending.pop(0)
        if url in seen or route in refused_routes:
            continue
        seen.add(url)
        response = request.get(url, max_redirects=0)
        if response.status == 405:
            refused_routes.add(route)
            continue
        body = response.body()
        content_type = response.headers.get("content-type", "")
        result.fetched.append(Fetched(url, response.status, content_type, body))
        location = response.headers.get("location")
        if location:
            pending += [(url, link) for link in links_in(url, f'href="{location}"')]
        if "html" in content_type:
            pending += [
                (link, link) for link in links_in(url, body.decode(errors="replace"))
            ]
    return result


def texts_of(fetched: Fetched, ocr: object) -> Iterator[str]:
    """The text a person could read in an answer: the body itself, the text
    layer of a PDF, the cells of a workbook, and what OCR reads in images."""
    body, content_type = fetched.body, fetched.content_type
    yield body.decode("utf-8", errors="replace")
    if body.startswith(b"%PDF"):
        pdf = pypdfium2.PdfDocument(body)
        for page in pdf:
            yield page.get_textpage().get_text_range()
            image = page.render(scale=150 / 72).to_pil()
            yield ocr_text(ocr, image)
    elif body.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            for name in archive.namelist():
                yield archive.read(name).decode("utf-8", errors="replace")
    elif content_type.startswith("image/") or body[:4] in (b"II*\x00", b"MM\x00*"):
        with Image.open(io.BytesIO(body)) as opened:
            for frame in range(getattr(opened, "n_frames", 1)):
                opened.seek(frame)
                yield ocr_text(ocr, opened.convert("RGB"))


_ocr_cache: dict[bytes, str] = {}


def ocr_text(ocr: object, image: Image.Image) -> str:
    key = image.tobytes()[::997] + bytes(str(image.size), "ascii")
    if key not in _ocr_cache:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        page = PageImage(
            number=1,
            width=image.width,
            height=image.height,
            dpi=150,
            image_bytes=buffer.getvalue(),
            image_format="PNG",
        )
        lines = ocr.recognize(page)  # type: ignore[attr-defined]
        _ocr_cache[key] = "\n".join(line.text for line in lines)
    return _ocr_cache[key]


def clear_secrets_in(text: str, secrets: set[str]) -> set[str]:
    squeezed = re.sub(r"[\s\-./]", "", text).upper()
    return {secret for secret in secrets if secret in squeezed}


@pytest.fixture(scope="module")
def ocr() -> object:
    from pipeline.ocr.paddle import PaddleOcrEngine

    return PaddleOcrEngine(cpu_threads=1)


def held_batch(uploader: User) -> Document:
    batch = demo_batch()
    off_the_event_loop(
        lambda: document_ingest(
            content=batch.content,
            original_name=batch.name,
            channel=Document.Channel.UPLOAD,
            uploaded_by=uploader,
        )
    )
    document = wait_until_demo_read()[-1]
    assert document.status == Document.Status.SPLIT_TO_CONFIRM, document.status
    return document


def test_a_clerk_reaches_no_sensitive_value_in_clear(
    demo: list[Document], login_as: LoginAs, ocr: object
) -> None:
    secrets = demo_secrets()
    # The demo's printed and filed identifiers: the Nordlicht IBAN, BIC and
    # VAT id, the Duval IBAN and VAT id, and the vendor master's.
    assert {"DE89370400440532013000", "COBADEFFXXX", "DE811907980"} <= secrets
    assert {"FR7630006000011234567890189", "FR40303265045"} <= secrets
    # The Duval bank change approved (attested, then approved by another
    # supervisor), so its exports exist for the clerk who uploaded it.
    approve_bank_change(next(d for d in demo if d.original_name.endswith(".tif")))
    clerk = User.objects.get(username=roles.CLERK)
    # A scanner batch of three demo invoices (their IBANs, BIC and VAT ids
    # printed) waiting for its split: its page and thumbnails are crawled too.
    demo = [*demo, held_batch(clerk)]
    page: Page = login_as(clerk)

    started = time.monotonic()
    result = crawl(page.request, route_urls(parameter_values(demo)))
    fetched_ok = [item for item in result.fetched if item.status == 200]
    kinds = {item.content_type.split(";")[0] for item in fetched_ok}
    # The crawl reached every kind of answer a clerk gets.
    assert {"text/html", "application/json", "image/jpeg", "text/csv"} <= kinds, kinds
    assert {"application/pdf", "application/xml"} <= kinds, kinds
    assert any("/original/" in item.url for item in fetched_ok)
    assert any("/api/v1/documents/" in item.url for item in fetched_ok)

    leaks = []
    for item in result.fetched:
        for text in texts_of(item, ocr):
            found = clear_secrets_in(text, secrets)
            if found:
                leaks.append((item.url, item.content_type, sorted(found)))
    print(
        f"clerk crawl: {len(result.fetched)} answers ({len(fetched_ok)} OK) "
        f"in {time.monotonic() - started:.0f} s"
    )
    assert not leaks, "\n".join(map(str, leaks))
