"""The review workflow in a real browser against the real stack: a clerk
claims, corrects and approves with the keyboard; a second clerk's queue loses
the claimed document live; an IBAN stays masked until a supervisor reveals it
with a reason."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import User
from PIL import Image, ImageStat
from playwright.sync_api import Locator, Page, expect

from reviewapp.extraction_fields import FIELD_NAMES
from reviewapp.models.configuration import SensitiveField
from reviewapp.models.documents import Document, TextLine
from reviewapp.models.fields import Field
from reviewapp.models.review import SensitiveReveal
from reviewapp.roles import SUPERVISOR
from tests.browser.conftest import PHONE_WIDTH, WIDTHS, LoginAs, assert_fits
from tests.browser.test_review_page import ready_document
from tests.browser.test_upload_flow import PROCESSING_TIMEOUT_MS, upload
from tests.conftest import make_document, make_user, text_image

pytestmark = [pytest.mark.browser, pytest.mark.integration]

IBAN = "DE89 3704 0044 0532 0130 00"
MASKED_IBAN = "DE89 •••• •••• •••• ••30 00"


def focus_field(page: Page, name: str, *, key: str) -> None:
    """Press `key` until field `name` has the focus (the keyboard way there)."""
    for _ in range(len(FIELD_NAMES) + 1):
        if page.evaluate("document.activeElement && document.activeElement.id") == (
            f"field-{name}"
        ):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{key} never reached field {name}")


def test_a_clerk_claims_corrects_and_approves_with_the_keyboard(
    login_as: LoginAs, clerk: User
) -> None:
    page = login_as(clerk)
    url = ready_document(page)
    document = Document.objects.get(status=Document.Status.READY)
    following = make_document(name="next-in-queue.pdf")

    page.goto(url)
    page.keyboard.press("?")
    expect(page.locator("#help-dialog")).to_be_visible()
    expect(page.locator("#help-dialog")).to_contain_text("Approve")
    page.screenshot(path="/tmp/vouch-review-help.png")
    page.keyboard.press("Escape")
    expect(page.locator("#help-dialog")).to_be_hidden()

    page.keyboard.press("c")
    expect(page.locator("#claim-holder")).to_contain_text("claimed by you")
    expect(page.locator("#document-status")).to_have_text("In review")

    # "y" accepts a value as read and moves on to the next flagged field.
    page.locator("#field-vendor_name").focus()
    focus_field(page, "invoice_date", key="ArrowDown")
    expect(page.locator("#field-invoice_date")).to_be_focused()
    page.keyboard.press("y")
    expect(page.locator("#field-invoice_date [data-role=set-by]")).to_be_visible()
    expect(page.locator("#field-invoice_date")).not_to_be_focused()

    # Enter edits the focused field (the total: whether the evidence stage
    # left it flagged or not, a person may correct it).
    page.locator("#field-vendor_name").focus()
    focus_field(page, "total_amount", key="ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("#field-total_amount-input")).to_be_focused()
    page.keyboard.type("34.00")
    page.keyboard.press("Enter")
    expect(page.locator("#field-total_amount-value")).to_have_text("34.00")

    # Approve waits until no flagged field is left unconfirmed: n, then y.
    confirm_flagged_fields(page)
    expect(page.locator('form[data-shortcut="a"] button')).to_be_visible()
    page.keyboard.press("a")
    page.wait_for_url(f"**/documents/{following.public_id}/")
    expect(page.locator(".message-success")).to_contain_text("Approved")

    document.refresh_from_db()
    assert document.status == Document.Status.APPROVED
    assert document.decided_by == clerk
    date = document.fields.get(name="invoice_date")
    assert (date.value, date.set_by, date.confidence) == ("2019-01-12", "human", 1.0)
    total = document.fields.get(name="total_amount")
    assert (total.value, total.set_by, total.corrected_by) == ("34.00", "human", clerk)


def test_a_claimed_document_leaves_the_other_clerk_s_queue_live(
    login_as: LoginAs, clerk: User, other_clerk: User
) -> None:
    document = make_document(name="shared-invoice.pdf")
    row = f"#doc-{document.public_id}"

    watcher = login_as(other_clerk)
    watcher.goto("/queue/mine/")
    expect(watcher.locator(row)).to_be_visible()
    reason_count = watcher.locator('#reason-counts [data-reason="missing_fields"]')
    expect(reason_count).to_have_text("1")
    expect(watcher.locator("#live-indicator")).to_have_attribute("data-state", "live")
    watcher.evaluate("window.__notReloaded = true")

    # The other clerk also has the document itself open in a second tab.
    watched_document = watcher.context.new_page()
    watched_document.goto(f"/documents/{document.public_id}/")
    expect(watched_document.get_by_role("button", name="Claim")).to_be_visible()
    expect(watched_document.locator("#live-indicator")).to_have_attribute(
        "data-state", "live"
    )

    reviewer = login_as(clerk)
    reviewer.goto(f"/documents/{document.public_id}/")
    reviewer.get_by_role("button", name="Claim").click()
    expect(reviewer.locator("#claim-holder")).to_contain_text("claimed by you")

    # Their open review page turns read-only, live.
    expect(watched_document.locator("#review-actions")).to_contain_text(
        "Someone else is reviewing this document"
    )
    expect(watched_document.get_by_role("button", name="Claim")).to_have_count(0)
    expect(watched_document.locator("#claim-holder")).to_contain_text(
        "claimed by clerk"
    )

    expect(watcher.locator(row)).to_have_count(0)
    expect(reason_count).to_have_text("0")
    expect(watcher.locator("#queue-notice")).to_have_text(
        "shared-invoice.pdf was claimed by clerk."
    )
    assert watcher.evaluate("window.__notReloaded") is True

    # The claimant still has it in their own queue.
    reviewer.goto("/queue/mine/")
    expect(reviewer.locator(row)).to_contain_text("by you")

    # Released, it comes back for the other clerk, still without a reload.
    reviewer.goto(f"/documents/{document.public_id}/")
    reviewer.keyboard.press("x")
    reviewer.wait_for_url("**/queue/mine/")
    expect(watcher.locator(row)).to_be_visible()
    expect(reason_count).to_have_text("1")
    watcher.screenshot(path="/tmp/vouch-queue-page.png")
    assert watcher.evaluate("window.__notReloaded") is True


def test_an_iban_is_masked_for_the_clerk_and_revealed_by_a_supervisor(
    login_as: LoginAs, clerk: User
) -> None:
    # The flush before this test emptied the table the migration filled.
    SensitiveField.objects.get_or_create(name="iban")
    page = login_as(clerk)
    upload(
        page,
        {
            "name": "bank-details.png",
            "mimeType": "image/png",
            "buffer": text_image(
                ["ACME GMBH", "Invoice No: INV-7", "Total EUR 120,50", "",
                 f"IBAN {IBAN}"],
                size=(1000, 500),
            ),
        },
    )  # fmt: skip
    item = page.locator("#uploads li.upload").first
    expect(item.locator(".status")).to_have_text(
        "Ready for review", timeout=PROCESSING_TIMEOUT_MS
    )
    url = item.locator(".upload-name a").get_attribute("href") or ""
    # The extractor reads this IBAN; pin the field to the OCR line the real
    # engine read, so the blacked-out region checked below is that line.
    document = Document.objects.get(original_name="bank-details.png")
    line = TextLine.objects.get(page__document=document, text__icontains="DE89")
    Field.objects.update_or_create(
        document=document, name="iban", defaults=dict(
            value=IBAN, raw_value=IBAN, machine_value=IBAN, confidence=0.95,
            machine_confidence=0.95, page=line.page, box=line.box,
        ),
    )  # fmt: skip

    page.goto(url)
    expect(page.locator("#field-iban-value")).to_have_text(MASKED_IBAN)
    html = page.content()
    assert IBAN not in html and IBAN.replace(" ", "") not in html.replace(" ", "")
    assert line.text not in html
    expect(
        page.locator("#field-iban").get_by_role("button", name="Reveal…")
    ).to_have_count(0)
    image = page.request.get(url + "pages/1/image/")
    served = Image.open(io.BytesIO(image.body())).convert("L")
    # The value's own words are blacked out, not the whole line: its "IBAN"
    # label stays readable (the engine may read both as one line).
    x0, y0, x1, y1 = line.box
    value_starts = line.text.upper().index("DE89") / len(line.text)
    value_x0 = x0 + round((x1 - x0) * value_starts)
    value = served.crop((value_x0 + 8, y0 + 4, x1 - 4, y1 - 4))
    assert ImageStat.Stat(value).mean[0] < 10
    if value_starts > 0.1:
        label = served.crop((x0, y0 + 4, value_x0 - 12, y1 - 4))
        assert ImageStat.Stat(label).mean[0] > 100

    boss = login_as(make_user("supervisor", SUPERVISOR))
    boss.goto(url)
    expect(boss.locator("#field-iban-value")).to_have_text(MASKED_IBAN)
    boss.locator("#field-iban").focus()
    boss.keyboard.press("v")
    expect(boss.locator("#field-iban-reveal-reason")).to_be_focused()
    boss.keyboard.type("Vendor phoned about new bank details")
    boss.keyboard.press("Enter")
    expect(boss.locator("#field-iban-value")).to_have_text(IBAN)
    boss.screenshot(path="/tmp/vouch-review-revealed.png")
    expect(boss.locator("#field-iban")).to_be_focused()

    reveal = SensitiveReveal.objects.get()
    assert (reveal.field_name, reveal.reason) == (
        "iban",
        "Vendor phoned about new bank details",
    )
    assert reveal.user.get_username() == "supervisor"
    boss.reload()
    expect(boss.locator("#field-iban-value")).to_have_text(MASKED_IBAN)


def on_phone(page: Page) -> bool:
    return (page.viewport_size or {"width": 0})["width"] <= PHONE_WIDTH


def press(page: Page, control: Locator) -> None:
    """Tap `control` on a phone, click it elsewhere: no keyboard."""
    expect(control).to_be_visible()
    if on_phone(page):
        control.tap()
    else:
        control.click()


def confirm_with_its_button(page: Page, field: Locator) -> None:
    """Select `field` (unless confirming the one before it selected it) and
    press its Confirm button."""
    if "is-selected" not in (field.get_attribute("class") or ""):
        press(page, field.locator(".field-label"))
    press(page, field.get_by_role("button", name="Confirm"))
    expect(field).to_have_attribute("data-flagged", "false")


def confirm_flagged_fields(page: Page) -> None:
    """From the keyboard: `n` to the first flagged field, then `y` on each
    until none is left unconfirmed. On a phone, with each one's Confirm
    button."""
    flagged = page.locator("li.field[data-flagged=true]")
    if on_phone(page):
        while flagged.count():
            first = flagged.first.get_attribute("id")
            confirm_with_its_button(page, page.locator(f"#{first}"))
        return
    if flagged.count():
        page.keyboard.press("n")
    while flagged.count():
        current = page.locator("#" + page.evaluate("document.activeElement.id"))
        page.keyboard.press("y")
        expect(current).to_have_attribute("data-flagged", "false")


@pytest.mark.parametrize("width", WIDTHS)
def test_approval_waits_for_the_flagged_fields_it_names(
    login_as: LoginAs, clerk: User, width: int
) -> None:
    """Without a keyboard (a tap on a phone, a click elsewhere): the clerk
    claims, is told which flagged fields stand in the way, confirms each with
    its button, and approves."""
    page = login_as(clerk)
    url = ready_document(page)
    document = Document.objects.get(status=Document.Status.READY)
    page.goto(url)

    press(page, page.get_by_role("button", name="Claim"))
    expect(page.locator("#claim-holder")).to_contain_text("claimed by you")
    flagged = page.locator("li.field[data-flagged=true]")
    names = flagged.evaluate_all("(fields) => fields.map((f) => f.dataset.field)")
    labels = flagged.locator(".field-label").all_text_contents()
    assert labels, "the receipt has no flagged field to confirm"
    refusal = page.locator("#approval-refusal")
    approve = page.locator('form[data-shortcut="a"] button')

    for confirmed, name in enumerate(names):
        expect(refusal).to_contain_text(": " + ", ".join(labels[confirmed:]) + ".")
        expect(approve).to_have_count(0)
        assert_fits(page)
        field = page.locator(f"#field-{name}")
        confirm_with_its_button(page, field)
        expect(field.locator("[data-role=note]")).to_contain_text("confirmed")

    expect(refusal).to_have_count(0)
    press(page, approve)
    page.wait_for_url(lambda now: str(document.public_id) not in now)
    document.refresh_from_db()
    assert (document.status, document.decided_by) == (Document.Status.APPROVED, clerk)
    assert {field.set_by for field in document.fields.filter(name__in=names)} == {
        "human"
    }
