"""`make run`'s demo on the browser stack: loaded by the test, read by the
stack's real worker (PaddleOCR, the Factur-X XML), then moved on as people would."""

from __future__ import annotations

import asyncio
import io
import threading
import time
from collections.abc import Callable

from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from reviewapp import roles
from reviewapp.models.documents import Document
from reviewapp.selectors.review_page import unconfirmed_flagged_fields
from reviewapp.services.fields import field_confirm
from reviewapp.services.review import bank_change_attest, document_approve
from tests.browser.conftest import Stack

READ_TIMEOUT = 240.0
UNREAD = (Document.Status.QUEUED, Document.Status.PROCESSING)


def off_the_event_loop(work: Callable[[], None]) -> None:
    """Run `work` on its own thread: Playwright's sync API keeps an event loop
    on the test's thread, where the services' broadcasts (async_to_sync)
    refuse to run. Without a running loop (a plain test), on this thread, so
    it shares the test's transaction."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        work()
        return
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:  # re-raised on the test's thread
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def load_demo(settings: SettingsWrapper, stack: Stack) -> None:
    """`load_demo` as `make run` calls it: users, master data, documents queued,
    their files stored where the stack's worker and web server read them."""
    media = stack.log_dir / "media"
    settings.MEDIA_ROOT = media
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": media, "base_url": None},
        },
    }
    off_the_event_loop(lambda: call_command("load_demo", stdout=io.StringIO()))


def wait_until_demo_read() -> list[Document]:
    """The demo documents once the stack's worker has read every one."""
    deadline = time.monotonic() + READ_TIMEOUT
    while Document.objects.filter(status__in=UNREAD).exists():
        if time.monotonic() > deadline:
            raise AssertionError("the worker did not read the demo documents")
        time.sleep(0.5)
    documents = list(Document.objects.order_by("created_at"))
    failed = [d.original_name for d in documents if d.status == Document.Status.FAILED]
    assert not failed, [
        (d.original_name, d.failure_reason)
        for d in documents
        if d.status == Document.Status.FAILED
    ]
    return documents


def approve_bank_change(document: Document) -> None:
    """The demo's bank-detail change approved the way the rules require: the
    demo supervisor verifies it with the vendor, attests it and confirms the
    flagged fields; a second supervisor (the admin) approves."""
    supervisor = User.objects.get(username=roles.SUPERVISOR)
    second = User.objects.get(username=roles.ADMIN)

    def approve() -> None:
        bank_change_attest(
            document=document,
            user=supervisor,
            method="phone",
            vendor_contact="Mme Duval, accounts",
            verified_at=timezone.now(),
        )
        for name, _ in unconfirmed_flagged_fields(document.pk):
            field_confirm(document=document, name=name, user=supervisor)
        document_approve(document=document, user=second)

    off_the_event_loop(approve)
