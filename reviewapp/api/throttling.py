"""Rate limits per person: on the whole API, and on uploads by any channel a
person drives (API and upload page). Counted in Redis (the "throttle" cache),
so every web process shares one count.

Limits come from settings (VOUCH_API_THROTTLE_RATE, VOUCH_UPLOAD_THROTTLE_RATE,
"N/second|minute|hour|day"). A refused request is answered 429 with
Retry-After, and says when to try again.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import caches
from rest_framework.request import Request
from rest_framework.throttling import UserRateThrottle


class ApiRateThrottle(UserRateThrottle):
    """Every API request of one user (or one address, signed out)."""

    scope = "api"

    @property
    def cache(self) -> Any:  # type: ignore[override]
        return caches["throttle"]


class UploadRateThrottle(UserRateThrottle):
    """Uploads of one user: API POSTs here, the upload page through
    `upload_wait_seconds`."""

    scope = "upload"

    @property
    def cache(self) -> Any:  # type: ignore[override]
        return caches["throttle"]

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method != "POST":
            return True
        return super().allow_request(request, view)


def upload_wait_seconds(request: Any) -> int | None:
    """For a Django view: None while the user may upload, else the seconds to
    wait. Counts this upload when it is allowed."""
    throttle = UploadRateThrottle()
    if throttle.allow_request(request, None):
        return None
    return max(1, round(throttle.wait() or 1))
