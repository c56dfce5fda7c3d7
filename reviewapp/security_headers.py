"""Content-Security-Policy and Permissions-Policy on every response.

Django 5.2 has no CSP support of its own; the policy is small and fixed, so a
middleware is simpler than a dependency. Every script and stylesheet Vouch
serves is a file under /static/ (no inline <script>, no style attributes), so
the policy allows scripts and styles from this origin only: an injected
`<script>` or `onclick=` does not run. Page images are served by our own views;
the live updates use a websocket to this same host (CSP3 lets 'self' match
ws:/wss: of the page's host, which Chromium and Firefox implement).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # Page thumbnails drawn into canvases and downloaded exports use blob:.
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        # The same as X-Frame-Options: DENY, for browsers that prefer CSP.
        "frame-ancestors 'none'",
    ]
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


class SecurityHeadersMiddleware:
    """Adds the CSP (unless a view set its own) and a Permissions-Policy."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = getattr(
            settings, "VOUCH_CONTENT_SECURITY_POLICY", CONTENT_SECURITY_POLICY
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
