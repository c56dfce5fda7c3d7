"""Active review time reported by the review page: cumulative per page view,
capped by the time since the page opened, refused for another person's page."""

from __future__ import annotations

import json
import time
from unittest import mock

import pytest
from django.contrib.auth.models import User

from reviewapp.models.review import ReviewTime
from reviewapp.services.review_time import (
    ReviewTimeRefused,
    review_time_record,
    review_time_token,
)
from tests.conftest import logged_in, make_document


def test_reports_are_cumulative_and_capped_by_the_time_the_page_was_open(
    db: None, clerk: User
) -> None:
    document = make_document()
    opened = time.time()
    with mock.patch("reviewapp.services.review_time.time.time", return_value=opened):
        token = review_time_token(document=document, user=clerk)
    later = opened + 100
    with mock.patch("reviewapp.services.review_time.time.time", return_value=later):
        review_time_record(
            document=document,
            user=clerk,
            token=token,
            active_seconds=30,
            field_seconds={"total_amount": 12},
        )
        # A late beacon with less changes nothing; more replaces it.
        review_time_record(
            document=document,
            user=clerk,
            token=token,
            active_seconds=20,
            field_seconds={"total_amount": 5},
        )
        review_time_record(
            document=document,
            user=clerk,
            token=token,
            active_seconds=60,
            field_seconds={"vendor_name": 8, "not_a_field": 9},
        )
        # A page cannot claim more than has passed since it opened (+5 s slack).
        review_time_record(document=document, user=clerk, token=token,
                           active_seconds=5000, field_seconds={})  # fmt: skip
    (spent,) = ReviewTime.objects.all()
    assert spent.active_seconds == pytest.approx(105.0)
    assert spent.field_seconds == {"total_amount": 12.0, "vendor_name": 8.0}
    assert spent.username == "clerk"


def test_a_token_is_for_its_own_person_and_document(
    db: None, clerk: User, other_clerk: User
) -> None:
    document, other = make_document(), make_document()
    token = review_time_token(document=document, user=clerk)
    with pytest.raises(ReviewTimeRefused):
        review_time_record(document=document, user=other_clerk, token=token,
                           active_seconds=1, field_seconds={})  # fmt: skip
    with pytest.raises(ReviewTimeRefused):
        review_time_record(document=other, user=clerk, token=token,
                           active_seconds=1, field_seconds={})  # fmt: skip
    with pytest.raises(ReviewTimeRefused):
        review_time_record(document=document, user=clerk, token="forged",
                           active_seconds=1, field_seconds={})  # fmt: skip
    assert not ReviewTime.objects.exists()


def test_the_review_page_carries_a_token_the_beacon_endpoint_accepts(
    db: None, clerk: User
) -> None:
    document = make_document()
    client = logged_in(clerk)
    page = client.get(f"/documents/{document.public_id}/").content.decode()
    assert 'id="review-time"' in page and "review_time.js" in page
    token = page.split('data-token="', 1)[1].split('"', 1)[0]
    url = f"/documents/{document.public_id}/review-time/"
    report = {"token": token, "active_seconds": "0.5",
              "field_seconds": json.dumps({"total_amount": 0.5})}  # fmt: skip
    response = client.post(url, report)
    assert response.status_code == 204
    assert ReviewTime.objects.get().active_seconds == pytest.approx(0.5)
    assert client.post(url, {"token": token, "active_seconds": "x"}).status_code == 400
    assert (
        client.post(url, {"token": "forged", "active_seconds": "1"}).status_code == 403
    )
