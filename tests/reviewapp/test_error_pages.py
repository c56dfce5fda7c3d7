"""Refusals and missing pages keep the app's layout and say why in words."""

from __future__ import annotations

from django.contrib.auth.models import User

from tests.conftest import logged_in


def test_a_refused_page_names_the_reason_inside_the_app(clerk: User) -> None:
    response = logged_in(clerk).get("/operations/thresholds/")

    assert response.status_code == 403
    page = response.content.decode()
    assert "You may not open this page" in page
    assert "The simulator is for supervisors and administrators." in page
    assert 'class="mainnav"' in page  # the clerk keeps their navigation


def test_a_missing_page_says_so_and_offers_the_way_back(clerk: User) -> None:
    response = logged_in(clerk).get("/documents/no-such-page/")

    assert response.status_code == 404
    page = response.content.decode()
    assert "Nothing here" in page
    assert "/documents/no-such-page/" in page
    assert 'href="/documents/"' in page
