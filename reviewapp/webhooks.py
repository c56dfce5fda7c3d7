"""Webhooks: tell receivers (the ERP) when something happens, signed and retried.

Each event becomes one WebhookDelivery per subscribed endpoint, sent by an RQ job
after the transaction commits and retried with backoff. Every HTTP attempt is
logged. Receivers verify:

    X-Vouch-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>

(`verify_signature` below is the reference), and use X-Vouch-Delivery, which is
the same on every retry, to ignore repeats.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import django_rq
import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rq import Retry

from reviewapp.export_formats import as_json
from reviewapp.models.documents import Document
from reviewapp.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from reviewapp.selectors.exports import export_for

DELIVER_JOB = "reviewapp.jobs.deliver_webhook"
SIGNATURE_HEADER = "X-Vouch-Signature"
# A signature older than this is refused by `verify_signature` (replays).
SIGNATURE_TOLERANCE_SECONDS = 300
RESPONSE_EXCERPT_CHARS = 500


class DeliveryFailed(Exception):
    """One attempt did not get a 2xx; raised so RQ schedules the next one."""


def body_bytes(delivery: WebhookDelivery) -> bytes:
    """The exact bytes sent: the same on every attempt, so a receiver may hash them."""
    envelope = {
        "id": str(delivery.public_id),
        "event": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
    return json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(
    secret: str, header: str, body: bytes, *, now: float | None = None
) -> bool:
    """True when `header` signs `body` with `secret` and is recent."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        claimed = parts["v1"]
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, claimed)


def webhooks_publish(*, event: str, payload: dict[str, Any]) -> list[WebhookDelivery]:
    """Queue `event` for every active endpoint subscribed to it.

    Call inside the transaction that made the event true: deliveries are
    enqueued only when it commits, so a receiver never hears of a rolled-back
    approval.
    """
    deliveries = [
        WebhookDelivery.objects.create(endpoint=endpoint, event=event, payload=payload)
        for endpoint in WebhookEndpoint.objects.filter(active=True).order_by("id")
        if endpoint.wants(event)
    ]
    for delivery in deliveries:
        transaction.on_commit(lambda pk=delivery.pk: _enqueue_delivery(pk))
    return deliveries


def _enqueue_delivery(delivery_id: int) -> None:
    delays = settings.VOUCH_WEBHOOK_RETRY_DELAYS
    django_rq.get_queue("default").enqueue(
        DELIVER_JOB,
        delivery_id,
        job_timeout=settings.VOUCH_WEBHOOK_TIMEOUT * 2,
        retry=Retry(max=len(delays), interval=delays) if delays else None,
        description=f"webhook delivery {delivery_id}",
    )


def delivery_attempt(*, delivery: WebhookDelivery) -> WebhookAttempt:
    """Send `delivery` once and log the attempt; the delivery's status follows.

    A delivery that already succeeded is not sent again (jobs may run twice).
    """
    body = body_bytes(delivery)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Vouch-Webhooks/1",
        "X-Vouch-Event": delivery.event,
        "X-Vouch-Delivery": str(delivery.public_id),
        SIGNATURE_HEADER: sign(delivery.endpoint.secret, timestamp, body),
    }
    started = time.perf_counter()
    status_code: int | None = None
    error = ""
    excerpt = ""
    try:
        # No redirects: a receiver that moved must be updated by an admin, not
        # followed silently to wherever it points.
        response = requests.post(
            delivery.endpoint.url,
            data=body,
            headers=headers,
            timeout=settings.VOUCH_WEBHOOK_TIMEOUT,
            allow_redirects=False,
        )
        status_code = response.status_code
        excerpt = response.text[:RESPONSE_EXCERPT_CHARS]
        if not 200 <= status_code < 300:
            error = f"receiver answered HTTP {status_code}"
    except requests.RequestException as failure:
        error = _plain_error(failure)
    duration_ms = round((time.perf_counter() - started) * 1000)
    with transaction.atomic():
        locked = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        locked.attempts += 1
        attempt = WebhookAttempt.objects.create(
            delivery=locked,
            number=locked.attempts,
            status_code=status_code,
            error=error,
            response_excerpt=excerpt,
            duration_ms=duration_ms,
        )
        if attempt.succeeded:
            locked.status = WebhookDelivery.Status.SUCCEEDED
            locked.finished_at = timezone.now()
        elif locked.attempts > len(settings.VOUCH_WEBHOOK_RETRY_DELAYS):
            locked.status = WebhookDelivery.Status.FAILED
            locked.finished_at = timezone.now()
        locked.save(update_fields=["attempts", "status", "finished_at"])
    delivery.refresh_from_db()
    return attempt


def _plain_error(failure: requests.RequestException) -> str:
    if isinstance(failure, requests.Timeout):
        return f"no answer within {settings.VOUCH_WEBHOOK_TIMEOUT} s"
    if isinstance(failure, requests.ConnectionError):
        return f"could not connect: {failure}"
    return f"request failed: {failure}"


def document_publish_approved(document: Document) -> None:
    # Inside the approving transaction: the delivery rows roll back with it, and
    # the jobs are enqueued only on commit (webhooks_publish).
    payload = as_json(export_for(document, user=None))
    webhooks_publish(event="document.approved", payload=payload)
