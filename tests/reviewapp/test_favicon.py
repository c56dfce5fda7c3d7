"""Browsers fetch /favicon.ico by themselves, signed in or not: it leads to
the icon the pages link."""

from __future__ import annotations

from django.templatetags.static import static
from django.test import Client

ICON = "reviewapp/img/favicon.svg"


def test_it_sends_an_anonymous_browser_to_the_icon(client: Client) -> None:
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"] == static(ICON)


def test_the_redirect_ends_at_an_image(client: Client) -> None:
    response = client.get("/favicon.ico", follow=True)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert body.lstrip().startswith(b"<svg")
