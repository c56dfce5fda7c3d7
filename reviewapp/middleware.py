"""Request middleware of our own: a request id every log line and audit event of
one request shares, and a plain reason for an upload Django cannot parse."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError

from reviewapp.audit.trail import client_ip, origin
from reviewapp.services.ingest import unreadable_upload_reason

REQUEST_ID_HEADER = "X-Request-ID"
# An id a proxy in front of us chose is kept, so its logs and ours line up; it
# must look like an id (it ends up in CSV exports and log lines).
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,63}")


class RequestIdMiddleware:
    """Sets `request.request_id`, makes it and the client IP the audit origin of
    whatever the request does, and echoes it in the X-Request-ID header."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _ACCEPTED_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        with origin(
            request_id=request_id,
            ip_address=client_ip(request),
            request=request,
        ):
            response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


class UnreadableUploadMiddleware:
    """Answers an upload Django's multipart parser refuses with a reason the
    sender can act on, as JSON {"error": ...} like every other refusal,
    instead of Django's bare "Bad Request" page. Its view hook runs just
    before the CSRF check, which would otherwise be the first to read the body
    and fail; views exempt from that check (the API) parse after their own
    authentication, and say the same themselves."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view: Callable[..., HttpResponse],
        args: tuple[object, ...],
        kwargs: dict[str, object],
    ) -> HttpResponse | None:
        if getattr(view, "csrf_exempt", False):
            return None
        if request.method == "POST" and request.content_type == "multipart/form-data":
            try:
                request.POST  # noqa: B018 (parsed here, once, for everyone after)
            except MultiPartParserError as error:
                reason = unreadable_upload_reason(str(error))
                return JsonResponse({"error": reason}, status=400)
        return None
