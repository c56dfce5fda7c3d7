"""The threshold simulator's figures on constructed reviews, and applying a
threshold from it: audited, and read by the same table routing uses."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings as SettingsWrapper

from reviewapp.extraction_fields import FIELD_NAMES, auto_accept_evidence
from reviewapp.models.audit import AuditEvent
from reviewapp.models.configuration import FieldThreshold
from reviewapp.models.documents import Document
from reviewapp.models.fields import Field
from reviewapp.selectors.thresholds import simulate, threshold_overview
from reviewapp.services.thresholds import field_threshold_set
from reviewapp.thresholds import review_thresholds
from tests.conftest import logged_in, make_document


def reviewed(confidence: float, *, changed: bool, by_routing: bool = False) -> Document:
    """A document a person approved whose total the machine read at
    `confidence`; `changed` when the person had to correct it."""
    document = make_document(
        status="approved", fields={"total_amount": ("10.00", confidence)}
    )
    Document.objects.filter(pk=document.pk).update(straight_through=by_routing)
    if changed:
        Field.objects.filter(document=document).update(value="12.00", set_by="human")
    return document


@pytest.fixture
def history(db: None) -> None:
    # 10 documents people approved, 8 with a total read by the machine.
    for confidence, changed in [(0.99, False), (0.98, False), (0.97, True),
                                (0.93, False), (0.91, False), (0.85, True),
                                (0.60, False), (0.55, True)]:  # fmt: skip
        reviewed(confidence, changed=changed)
    make_document(status="approved")  # no total read
    empty = make_document(status="approved", fields={"total_amount": ("", 0.2)})
    Field.objects.filter(document=empty).update(machine_value="")
    # Routed straight through, nobody looked: not evidence.
    reviewed(0.999, changed=False, by_routing=True)


def test_the_curve_counts_auto_accepted_values_and_errors_per_thousand(
    history: None,
) -> None:
    simulation = simulate("total_amount", candidate=0.9)
    assert (simulation.documents, simulation.values) == (10, 8)
    at = {point.threshold: point for point in simulation.curve}
    assert (at[0.95].auto_accepted, at[0.95].errors) == (3, 1)
    assert at[0.95].auto_accepted_share == pytest.approx(3 / 8)
    assert at[0.95].errors_per_thousand == pytest.approx(100.0)
    assert (at[0.5].auto_accepted, at[0.5].errors) == (8, 3)
    assert at[0.5].errors_per_thousand == pytest.approx(300.0)
    assert at[1.0].auto_accepted == 0
    assert (simulation.candidate.auto_accepted, simulation.candidate.errors) == (5, 1)
    # The current threshold is the calibrated 1.0 for totals: nothing accepted.
    assert simulation.current.threshold == review_thresholds()["total_amount"]
    assert 'stroke-dasharray="4 3"' in simulation.share_chart()  # the marker


def test_an_unknown_field_is_refused(db: None) -> None:
    with pytest.raises(ValueError):
        simulate("shoe_size")


def test_an_admin_applies_a_threshold_through_the_routing_table(
    history: None, admin_user: User
) -> None:
    previous = review_thresholds()["total_amount"]
    response = logged_in(admin_user, csrf=False).post(
        "/operations/thresholds/apply/",
        {"field": "total_amount", "threshold": "0.93", "note": "pilot: fewer looks"},
    )
    assert response.status_code == 302
    assert "field=total_amount" in response["Location"]
    assert FieldThreshold.objects.get(name="total_amount").threshold == 0.93
    assert review_thresholds()["total_amount"] == 0.93
    event = AuditEvent.objects.filter(
        event_type=AuditEvent.EventType.SETTINGS_CHANGED
    ).latest("sequence")
    assert event.actor_username == "admin"
    assert event.details["setting"] == "threshold:total_amount"
    assert event.details["value"] == 0.93
    assert event.details["previous"] == previous
    assert event.details["note"] == "pilot: fewer looks"
    page = logged_in(admin_user).get(response["Location"])
    assert "Now, at 0.930" in page.content.decode()


def test_only_an_admin_applies_and_supervisors_may_look(
    history: None, supervisor: User, clerk: User
) -> None:
    form = {"field": "total_amount", "threshold": "0.5", "note": "why not"}
    assert (
        logged_in(supervisor).post("/operations/thresholds/apply/", form).status_code
        == 403
    )
    assert not FieldThreshold.objects.exists()
    page = logged_in(supervisor).get(
        "/operations/thresholds/?field=total_amount&threshold=0.9"
    )
    assert page.status_code == 200
    assert 'id="threshold-apply"' not in page.content.decode()
    assert logged_in(clerk).get("/operations/thresholds/").status_code == 403


def test_a_threshold_outside_zero_to_one_is_refused(db: None, admin_user: User) -> None:
    with pytest.raises(ValueError):
        field_threshold_set(name="total_amount", threshold=1.5, actor=admin_user)
    response = logged_in(admin_user).post(
        "/operations/thresholds/apply/",
        {"field": "total_amount", "threshold": "1.5", "note": "x"},
        follow=True,
    )
    assert "less than or equal to 1" in response.content.decode()
    assert not FieldThreshold.objects.exists()


def test_removing_a_threshold_falls_back_to_the_calibrated_one(
    db: None, admin_user: User
) -> None:
    calibrated = review_thresholds()["invoice_date"]
    field_threshold_set(name="invoice_date", threshold=0.5, actor=admin_user)
    assert review_thresholds()["invoice_date"] == 0.5
    field_threshold_set(name="invoice_date", threshold=None, actor=admin_user)
    assert review_thresholds()["invoice_date"] == calibrated


def test_the_overview_names_each_threshold_s_source_and_its_evidence(
    db: None, admin_user: User, settings: SettingsWrapper
) -> None:
    settings.VOUCH_FLAG_BELOW_CONFIDENCE = None
    field_threshold_set(
        name="total_amount", threshold=0.8, actor=admin_user, note="pilot"
    )
    rows = {row.field_name: row for row in threshold_overview()}

    assert set(rows) == set(FIELD_NAMES)
    total = rows["total_amount"]
    assert (total.threshold, total.source, total.note) == (
        0.8,
        "administrator",
        "pilot",
    )
    date = rows["invoice_date"]
    support = auto_accept_evidence("invoice_date")
    assert support is not None
    assert date.source == "calibrated"
    assert date.threshold == support["threshold"]
    assert f"on {support['samples']:,} held-out values" in date.evidence
    never = [row for row in rows.values() if row.calibrated == 1.0]
    for row in never:
        assert "always checked" in row.evidence

    page = logged_in(admin_user).get("/operations/thresholds/").content.decode()
    assert 'id="threshold-overview"' in page
    assert "Set by an administrator: pilot" in page
    assert 'href="?field=invoice_date"' in page

    settings.VOUCH_FLAG_BELOW_CONFIDENCE = 0.7
    assert {row.source for row in threshold_overview()} == {"override"}
