"""The load benchmark's query counter: off by default, a header when turned on."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from reviewapp.query_count import HEADER
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db


def test_no_query_count_is_sent_by_default(clerk: User) -> None:
    assert HEADER not in logged_in(clerk).get("/documents/")


def test_each_response_says_how_many_queries_it_made(
    clerk: User,
    settings,  # type: ignore[no-untyped-def]
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    settings.VOUCH_QUERY_COUNT_HEADER = True
    client = logged_in(clerk)
    response = client.get("/documents/")
    assert int(response[HEADER]) > 0
    with django_assert_num_queries(int(client.get("/documents/")[HEADER])):
        client.get("/documents/")
