"""A bank-detail change is approved by two people, in the browser: the demo
supervisor verifies the new IBAN with the vendor and attests how, confirms
the flagged fields, and cannot approve; the admin, a second supervisor,
approves. At a desktop's, a laptop's and a phone's width, the comparison
of the bank details fitting the window."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from reviewapp import roles
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document
from reviewapp.models.review import BankChangeAttestation
from tests.browser.conftest import WIDTHS, LoginAs, assert_fits
from tests.browser.test_review_workflow import confirm_flagged_fields

pytestmark = [pytest.mark.browser, pytest.mark.integration]

DUVAL = "atelier-facture-FA-2026-311.tif"


@pytest.mark.parametrize("width", WIDTHS)
def test_one_supervisor_attests_the_new_iban_and_another_approves(
    demo: list[Document], login_as: LoginAs, width: int
) -> None:
    duval = next(d for d in demo if d.original_name == DUVAL)
    url = f"/documents/{duval.public_id}/"

    attester = login_as(User.objects.get(username=roles.SUPERVISOR))
    attester.goto(url)
    section = attester.locator("#bank-change")
    expect(section).to_contain_text("Bank details changed")
    expect(section).to_contain_text("Approval needs two people")
    # The master's IBAN against the document's, both masked.
    expect(section.locator(".bank-compare")).to_contain_text("FR")
    expect(section.locator(".bank-compare")).not_to_contain_text("0189 ")
    assert_fits(attester)
    attester.get_by_label("How did you verify them?").select_option("phone")
    attester.get_by_label("Who at the vendor confirmed them?").fill(
        "Mme Duval, accounts, on the number on file"
    )
    attester.get_by_role("button", name="Record attestation").click()
    expect(attester.locator("#attestations")).to_contain_text(
        "supervisor attested: phone"
    )
    expect(attester.locator("#attestations")).to_contain_text("Mme Duval")
    confirm_flagged_fields(attester)
    # Having attested and confirmed the fields, they may not approve.
    expect(attester.locator('form[data-shortcut="a"] button')).to_have_count(0)
    expect(attester.locator("#review-actions")).to_contain_text(
        "another supervisor must approve it"
    )

    approver = login_as(User.objects.get(username=roles.ADMIN))
    approver.goto(url)
    expect(approver.locator("#attestations")).to_contain_text("supervisor attested")
    assert_fits(approver)
    approve = approver.locator('form[data-shortcut="a"] button')
    expect(approve).to_be_visible()
    approve.click()
    approver.wait_for_url(lambda now: str(duval.public_id) not in now)

    duval.refresh_from_db()
    assert duval.status == Document.Status.APPROVED
    assert duval.decided_by == User.objects.get(username=roles.ADMIN)
    attestation = BankChangeAttestation.objects.get(document=duval)
    assert attestation.attested_by.username == roles.SUPERVISOR
    assert attestation.method == "phone"
    assert AuditEvent.objects.filter(
        document_public_id=duval.public_id, event_type="bank_details_attested"
    ).exists()
