"""Webhooks against a real HTTP receiver, through real Redis and a real worker."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import django_rq
import pytest
from django.db import transaction
from pytest_django.fixtures import Settings as SettingsWrapper
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from reviewapp import jobs
from reviewapp.models.webhooks import WebhookDelivery, WebhookEndpoint
from reviewapp.webhooks import (
    SIGNATURE_HEADER,
    DeliveryFailed,
    body_bytes,
    sign,
    verify_signature,
    webhooks_publish,
)

APPROVED = WebhookEndpoint.Event.DOCUMENT_APPROVED
PAYLOAD = {"document": "b2c4", "total_amount": "120.50", "currency": "EUR"}


@dataclass
class Receiver:
    """An HTTP server answering each POST with the next status in `answers`."""

    answers: list[int]
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(answers=[])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append((dict(self.headers), body))
            code = state.answers.pop(0) if state.answers else 200
            self.send_response(code)
            self.end_headers()
            self.wfile.write(b"ok" if code < 300 else b"receiver is down")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/hooks/vouch"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def no_retry_pauses(settings: SettingsWrapper) -> None:
    # Retries without pauses, so a burst worker runs the whole policy now.
    settings.VOUCH_WEBHOOK_RETRY_DELAYS = [0, 0, 0]


def run_worker_burst() -> None:
    worker = django_rq.get_worker(
        "default", worker_class=SimpleWorker, serializer=JSONSerializer
    )
    worker.work(burst=True)


def endpoint(url: str, events: list[str] | None = None) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        name="ERP", url=url, events=[APPROVED] if events is None else events
    )


def test_a_signature_verifies_only_for_the_same_secret_body_and_recent_time() -> None:
    body = b'{"event":"document.approved"}'
    now = int(time.time())
    header = sign("s3cret", now, body)

    assert verify_signature("s3cret", header, body)
    assert not verify_signature("other", header, body)
    assert not verify_signature("s3cret", header, body + b" ")
    assert not verify_signature("s3cret", sign("s3cret", now - 3600, body), body)
    assert not verify_signature("s3cret", "garbage", body)


@pytest.mark.django_db(transaction=True)
def test_a_failing_receiver_is_retried_until_it_accepts(
    receiver: Receiver, no_retry_pauses: None
) -> None:
    django_rq.get_queue("default").empty()
    hook = endpoint(receiver.url)
    receiver.answers = [500, 503, 200]

    with transaction.atomic():
        (delivery,) = webhooks_publish(event=APPROVED, payload=PAYLOAD)
        assert django_rq.get_queue("default").count == 0  # not before commit
    run_worker_burst()

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert delivery.attempts == 3
    assert [a.status_code for a in delivery.attempt_log.all()] == [500, 503, 200]
    assert delivery.attempt_log.first().error == "receiver answered HTTP 500"
    assert delivery.attempt_log.first().response_excerpt == "receiver is down"
    # Every attempt carries the same body and delivery id, each signed verifiably.
    bodies = {body for _, body in receiver.received}
    assert bodies == {body_bytes(delivery)}
    for headers, body in receiver.received:
        assert headers["X-Vouch-Delivery"] == str(delivery.public_id)
        assert headers["X-Vouch-Event"] == "document.approved"
        assert verify_signature(hook.secret, headers[SIGNATURE_HEADER], body)
    sent = json.loads(receiver.received[0][1])
    assert sent["data"] == PAYLOAD
    assert sent["id"] == str(delivery.public_id)


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_never_accepts_fails_after_the_policy_is_spent(
    receiver: Receiver, no_retry_pauses: None
) -> None:
    django_rq.get_queue("default").empty()
    endpoint(receiver.url)
    receiver.answers = [500] * 10

    (delivery,) = webhooks_publish(event=APPROVED, payload=PAYLOAD)
    run_worker_burst()

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == 4  # the first try and three retries
    assert len(receiver.received) == 4
    assert delivery.finished_at is not None


@pytest.mark.django_db
def test_an_unreachable_receiver_is_logged_with_the_reason(
    receiver: Receiver, settings: SettingsWrapper
) -> None:
    settings.VOUCH_WEBHOOK_RETRY_DELAYS = [60]
    closed_port_url = "http://127.0.0.1:9/nothing-listens-here"
    endpoint(closed_port_url)
    (delivery,) = webhooks_publish(event=APPROVED, payload=PAYLOAD)

    with pytest.raises(DeliveryFailed, match="could not connect"):
        jobs.deliver_webhook(delivery.pk)

    (attempt,) = delivery.attempt_log.all()
    assert attempt.status_code is None
    assert attempt.error.startswith("could not connect")
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING  # one retry left


@pytest.mark.django_db
def test_a_delivered_webhook_is_not_sent_again(receiver: Receiver) -> None:
    endpoint(receiver.url)
    (delivery,) = webhooks_publish(event=APPROVED, payload=PAYLOAD)

    first = jobs.deliver_webhook(delivery.pk)
    second = jobs.deliver_webhook(delivery.pk)

    assert first == "delivered: HTTP 200"
    assert second == "skipped: already succeeded"
    assert len(receiver.received) == 1


@pytest.mark.django_db
def test_only_active_endpoints_subscribed_to_the_event_get_it(
    receiver: Receiver,
) -> None:
    subscribed = endpoint(receiver.url)
    endpoint(receiver.url, events=[WebhookEndpoint.Event.DOCUMENT_EXPORTED])
    inactive = endpoint(receiver.url)
    inactive.active = False
    inactive.save()

    deliveries = webhooks_publish(event=APPROVED, payload=PAYLOAD)

    assert [d.endpoint for d in deliveries] == [subscribed]
