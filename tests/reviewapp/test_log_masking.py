"""Sensitive values stay out of logs, error pages and the admins' error email."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings as SettingsWrapper

from reviewapp.audit.log_masking import SensitiveValueFilter, mask_sensitive_text
from tests.conftest import make_document

IBAN = "DE89 3704 0044 0532 0130 00"
COMPACT_IBAN = IBAN.replace(" ", "")


def no_clear_iban(text: str) -> bool:
    return "0532" not in text.replace(" ", "") and COMPACT_IBAN not in text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (
            f"read IBAN {IBAN} on page 1",
            "read IBAN DE89 •••• •••• •••• ••30 00 on page 1",
        ),
        (f"iban={COMPACT_IBAN}!", "iban=DE89 •••• •••• •••• ••30 00!"),
        ("VAT DE123456789 and ATU12345678", "VAT DE•••••••89 and AT•••••••78"),
        ("Total 120.50 EUR, invoice INV-1001", "Total 120.50 EUR, invoice INV-1001"),
    ],
)
def test_values_shaped_like_an_iban_or_vat_id_are_masked(
    text: str, masked: str
) -> None:
    assert mask_sensitive_text(text) == masked


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """What the configured console handler writes (settings.LOGGING)."""
    [handler] = [
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(each, SensitiveValueFilter) for each in handler.filters)
    ]
    assert isinstance(handler, logging.StreamHandler)
    written = io.StringIO()
    previous = handler.setStream(written)
    yield written
    handler.setStream(previous)


def test_a_processing_log_line_is_masked(console: io.StringIO) -> None:
    logging.getLogger("reviewapp.jobs").warning("no vendor has the IBAN %s", IBAN)
    line = console.getvalue()
    assert "no vendor has the IBAN DE89 •••• •••• •••• ••30 00" in line
    assert no_clear_iban(line)


def test_an_exception_message_in_a_log_record_is_masked(console: io.StringIO) -> None:
    try:
        raise ValueError(f"unexpected bank line {COMPACT_IBAN}")
    except ValueError:
        logging.getLogger("reviewapp.jobs").exception("processing failed")
    written = console.getvalue()
    assert "ValueError: unexpected bank line DE89" in written
    assert "Traceback" in written
    assert no_clear_iban(written)


@pytest.fixture
def failing_correction(
    monkeypatch: pytest.MonkeyPatch, clerk: User
) -> tuple[Client, str]:
    """A clerk's client and the URL of a correction whose service blows up
    with the posted value in its message (the worst case of a bug)."""

    def broken(**kwargs: object) -> None:
        value = kwargs["value"]
        raise RuntimeError(f"could not store {value}")

    monkeypatch.setattr("reviewapp.views.documents.services_field_correct", broken)
    document = make_document(uploaded_by=clerk)
    client = Client(raise_request_exception=False)
    client.force_login(clerk)
    return client, reverse("field-correct", args=[document.public_id, "iban"])


@pytest.mark.django_db
def test_the_500_page_does_not_show_the_posted_iban(
    failing_correction: tuple[Client, str], settings: SettingsWrapper
) -> None:
    settings.DEBUG = False
    client, url = failing_correction
    response = client.post(url, {"value": IBAN})
    assert response.status_code == 500
    assert no_clear_iban(response.content.decode())


@pytest.mark.django_db
def test_the_technical_500_page_masks_the_iban_everywhere(
    failing_correction: tuple[Client, str], settings: SettingsWrapper
) -> None:
    settings.DEBUG = True
    client, url = failing_correction
    response = client.post(url, {"value": IBAN}, headers={"accept": "text/html"})
    assert response.status_code == 500
    page = response.content.decode()
    # The technical page itself: the exception, its frames and the POST data.
    assert "RuntimeError" in page and "could not store DE89" in page
    assert "field_correct" in page
    assert no_clear_iban(page)
    text = client.post(url, {"value": IBAN}, headers={"accept": "text/plain"})
    assert "could not store DE89" in text.content.decode()
    assert no_clear_iban(text.content.decode())


@pytest.mark.django_db
def test_the_admins_error_email_masks_the_iban(
    failing_correction: tuple[Client, str], settings: SettingsWrapper
) -> None:
    settings.DEBUG = False
    settings.ADMINS = [("Operations", "ops@example.com")]
    client, url = failing_correction
    assert client.post(url, {"value": IBAN}).status_code == 500
    [email] = mail.outbox
    assert email.to == ["ops@example.com"]
    assert "could not store DE89" in email.body
    assert "POST" in email.body
    assert no_clear_iban(email.subject + email.body)
