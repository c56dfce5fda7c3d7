"""The audit trail: the one place that appends events, and the rules that make the
trail provable.

Every event stores the hash of the event before it and the SHA-256 of its own
canonical content (sorted-key JSON of every column, the time in UTC ISO form,
its sequence number and the previous hash). Changing, removing or reordering any
stored event therefore breaks the chain, and `verify_chain` names where.

Sensitive values (IBAN, BIC, VAT ids, anything a caller marks) never enter the
hashed row: details hold an envelope {"mask", "digest"} whose digest is an
HMAC-SHA256 under the audit key, and the Fernet ciphertext goes to AuditSecret.
Deleting those secrets (redaction, retention) leaves every hash intact.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from reviewapp.models.audit import AuditChainHead, AuditEvent, AuditSecret
from reviewapp.models.documents import Document

GENESIS_HASH = "0" * 64
# Field values that identify a bank account or a taxpayer: audited encrypted.
SENSITIVE_FIELD_NAMES = frozenset(
    {"iban", "bic", "vendor_vat_id", "customer_vat_id", "vat_id"}
)

EventType = AuditEvent.EventType
User = AbstractBaseUser | AnonymousUser


class SecretUnavailable(Exception):
    """The value was redacted, or was encrypted under a different audit key."""


@dataclass(frozen=True)
class Envelope:
    """What the hashed row keeps of one sensitive value."""

    mask: str
    digest: str

    def as_json(self) -> dict[str, str]:
        return {"mask": self.mask, "digest": self.digest}


def is_envelope(value: Any) -> bool:
    return isinstance(value, dict) and value.keys() == {"mask", "digest"}


# --- hashing -----------------------------------------------------------------


def canonical_json(value: Any) -> str:
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_content(event: AuditEvent) -> str:
    """Everything an event says, as the exact text its content hash covers."""
    public_id = event.document_public_id
    return canonical_json(
        {
            "sequence": event.sequence,
            "occurred_at": utc_iso(event.occurred_at),
            "event_type": event.event_type,
            "actor_id": event.actor_id,
            "actor_username": event.actor_username,
            "actor_role": event.actor_role,
            "ip_address": event.ip_address,
            "request_id": event.request_id,
            "document_public_id": str(public_id) if public_id else None,
            "details": event.details,
            "previous_hash": event.previous_hash,
        }
    )


def content_hash(event: AuditEvent) -> str:
    return hashlib.sha256(canonical_content(event).encode()).hexdigest()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, date | UUID | Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot go into audit details")


def _as_stored(details: Mapping[str, Any]) -> dict[str, Any]:
    # What the JSON column will give back, so the hash computed now is the hash
    # recomputed later from the row.
    result: dict[str, Any] = json.loads(
        json.dumps(dict(details), default=_json_default, allow_nan=False)
    )
    return result


# --- sensitive values ----------------------------------------------------------


def _subkey(purpose: bytes) -> bytes:
    # Separate keys for encryption and digests, both from the one configured key.
    return hmac.new(settings.VOUCH_AUDIT_KEY.encode(), purpose, hashlib.sha256).digest()


def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_subkey(b"vouch-audit-encryption-v1")))


def sensitive_digest(value: str) -> str:
    """Keyed digest of a sensitive value: equal values compare equal, but the
    value cannot be guessed from it without the audit key."""
    return hmac.new(
        _subkey(b"vouch-audit-digest-v1"), value.encode(), hashlib.sha256
    ).hexdigest()


def mask(value: str) -> str:
    """Enough to recognise a value (its first two and last four characters),
    not enough to use it."""
    compact = "".join(value.split())
    if len(compact) <= 8:
        return "*" * len(compact)
    return compact[:2] + "*" * (len(compact) - 6) + compact[-4:]


def _seal(value: str) -> tuple[Envelope, str]:
    envelope = Envelope(mask=mask(value), digest=sensitive_digest(value))
    return envelope, seal(value)


def seal(value: str) -> str:
    """`value` encrypted under the audit key, for sensitive values kept outside
    the trail (training data): the same key, rotation and redaction story."""
    return _fernet().encrypt(value.encode()).decode()


def unseal(ciphertext: str) -> str:
    """The clear text of `seal`'s ciphertext. Raises SecretUnavailable when it
    was encrypted under another audit key."""
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretUnavailable("encrypted under another audit key") from None


def reveal_value(event: AuditEvent, name: str) -> str:
    """The plain value behind the envelope `details[name]` of `event`.

    Raises KeyError when there is no such envelope and SecretUnavailable when
    its ciphertext was redacted or cannot be decrypted with the current key.
    Callers record a SENSITIVE_REVEALED event (see `audit_reveal`).
    """
    envelope = event.details.get(name)
    if not is_envelope(envelope):
        raise KeyError(name)
    secret = AuditSecret.objects.filter(
        event_sequence=event.sequence, digest=envelope["digest"]
    ).first()
    if secret is None:
        raise SecretUnavailable("this value was redacted")
    value = unseal(secret.ciphertext)
    if not hmac.compare_digest(sensitive_digest(value), envelope["digest"]):
        raise SecretUnavailable("the stored ciphertext does not match the event")
    return value


def redact_document_secrets(*, document_public_id: UUID) -> int:
    """Delete the ciphertext of every sensitive value in one document's events
    (for the retention purge). The events keep their masks and digests, so the
    chain still verifies; the values can no longer be revealed. Returns how
    many values were redacted."""
    sequences = AuditEvent.objects.filter(document_public_id=document_public_id).values(
        "sequence"
    )
    redacted, _ = AuditSecret.objects.filter(event_sequence__in=sequences).delete()
    return redacted


def masked_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """Details for display: every envelope replaced by its mask."""
    return {
        key: value["mask"] if is_envelope(value) else value
        for key, value in details.items()
    }


# --- appending -------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """Where the current work came from: an HTTP request (its id, client IP and
    signed-in user) or a job (its RQ job id). Services and signal handlers
    record events without being handed the request; the middleware or job sets
    this around the work."""

    request_id: str = ""
    ip_address: str = ""
    request: HttpRequest | None = None


_origin: ContextVar[Origin | None] = ContextVar("audit_origin", default=None)


@contextmanager
def origin(
    *, request_id: str, ip_address: str = "", request: HttpRequest | None = None
) -> Iterator[None]:
    token = _origin.set(
        Origin(request_id=request_id[:64], ip_address=ip_address, request=request)
    )
    try:
        yield
    finally:
        _origin.reset(token)


def roles_of(user: AbstractBaseUser) -> str:
    names = sorted(user.groups.values_list("name", flat=True))  # type: ignore[attr-defined]
    if getattr(user, "is_superuser", False):
        names.insert(0, "superuser")
    return ",".join(names)[:200]


def client_ip(request: HttpRequest) -> str:
    # REMOTE_ADDR only: a forwarded-for header is the client's word, not a fact.
    return str(request.META.get("REMOTE_ADDR") or "")[:45]


def _locked_head() -> AuditChainHead:
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(
        singleton=1, defaults={"sequence": 0, "last_hash": GENESIS_HASH}
    )
    return head


def record_event(
    event_type: str,
    *,
    actor: User | None = None,
    request: HttpRequest | None = None,
    document: Document | None = None,
    document_public_id: UUID | None = None,
    details: Mapping[str, Any] | None = None,
    sensitive: Mapping[str, str | None] | None = None,
    request_id: str = "",
) -> AuditEvent:
    """Append one event to the audit trail and return it.

    Call it inside the transaction of the change it records, as late as
    possible: it locks the chain head until that transaction commits, which is
    what keeps concurrent writers from forking the chain (on SQLite the
    IMMEDIATE transactions serialise writers anyway). `actor` defaults to the
    user of `request` or of the surrounding request; `document_public_id`
    stands in for `document` when only the id is at hand. The IP and request id
    come from `request`, else from the surrounding `origin` (set by
    RequestIdMiddleware and jobs). Values in `sensitive` join `details` under
    their key as a masked envelope, encrypted apart from the hashed row. Raises
    ValueError on an unknown event type or a key given both plainly and as
    sensitive.
    """
    if event_type not in EventType.values:
        raise ValueError(f"{event_type!r} is not an audit event type")
    current = _origin.get() or Origin()
    if request is not None:
        ip_address = client_ip(request)
        request_id = getattr(request, "request_id", "") or request_id
    else:
        ip_address = current.ip_address
        request_id = request_id or current.request_id
    # Whoever's request caused the change did it, unless the caller says who.
    if actor is None and (request or current.request) is not None:
        actor = getattr(request or current.request, "user", None)
    stored_details = _as_stored(details or {})
    secrets: list[tuple[str, str]] = []
    for key, value in (sensitive or {}).items():
        if key in stored_details:
            raise ValueError(f"{key!r} is both in details and sensitive")
        if not value:  # nothing to hide in an empty value
            stored_details[key] = value or ""
            continue
        envelope, ciphertext = _seal(value)
        stored_details[key] = envelope.as_json()
        secrets.append((envelope.digest, ciphertext))

    authenticated = actor is not None and actor.is_authenticated
    with transaction.atomic():
        head = _locked_head()
        event = AuditEvent(
            sequence=head.sequence + 1,
            occurred_at=timezone.now(),
            event_type=event_type,
            actor_id=actor.pk if authenticated else None,  # type: ignore[union-attr]
            actor_username=actor.get_username() if authenticated else "",  # type: ignore[union-attr]
            actor_role=roles_of(actor) if authenticated else "",  # type: ignore[arg-type]
            ip_address=ip_address,
            request_id=request_id[:64],
            document_public_id=document.public_id if document else document_public_id,
            details=stored_details,
            previous_hash=head.last_hash,
        )
        event.content_hash = content_hash(event)
        event.save()
        AuditSecret.objects.bulk_create(
            AuditSecret(event_sequence=event.sequence, digest=digest, ciphertext=text)
            for digest, text in dict(secrets).items()
        )
        head.sequence, head.last_hash = event.sequence, event.content_hash
        head.save(update_fields=["sequence", "last_hash"])
    return event


@dataclass(frozen=True)
class PlainEvent:
    """An event without sensitive values, for `append_plain_events`."""

    event_type: str
    actor_username: str = ""
    actor_id: int | None = None
    actor_role: str = ""
    ip_address: str = ""
    request_id: str = ""
    document_public_id: UUID | None = None
    details: Mapping[str, Any] | None = None


def append_plain_events(events: Iterable[PlainEvent], *, batch_size: int = 5000) -> int:
    """Append many events quickly (bulk inserts, one locked transaction per
    batch), chained exactly as `record_event` chains them. For benchmarks and
    imports; sensitive values must go through `record_event`. Returns the count."""
    count = 0
    batch: list[PlainEvent] = []
    for plain in events:
        batch.append(plain)
        if len(batch) == batch_size:
            count += _append_batch(batch)
            batch = []
    if batch:
        count += _append_batch(batch)
    return count


def _append_batch(batch: list[PlainEvent]) -> int:
    with transaction.atomic():
        head = _locked_head()
        sequence, previous = head.sequence, head.last_hash
        rows = []
        now = timezone.now()
        for plain in batch:
            if plain.event_type not in EventType.values:
                raise ValueError(f"{plain.event_type!r} is not an audit event type")
            sequence += 1
            event = AuditEvent(
                sequence=sequence,
                occurred_at=now,
                event_type=plain.event_type,
                actor_id=plain.actor_id,
                actor_username=plain.actor_username,
                actor_role=plain.actor_role,
                ip_address=plain.ip_address,
                request_id=plain.request_id,
                document_public_id=plain.document_public_id,
                details=_as_stored(plain.details or {}),
                previous_hash=previous,
            )
            event.content_hash = previous = content_hash(event)
            rows.append(event)
        AuditEvent.objects.bulk_create(rows)
        head.sequence, head.last_hash = sequence, previous
        head.save(update_fields=["sequence", "last_hash"])
    return len(rows)


# --- verifying -------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    events: int
    head_hash: str
    problem: str = ""  # the first broken link, in words; empty when intact

    @property
    def ok(self) -> bool:
        return not self.problem


def verify_chain(*, chunk_size: int = 1000) -> ChainReport:
    """Recompute every hash in sequence order and compare the end of the chain
    with its head. Stops at the first broken link and says what it found."""
    expected_sequence, previous, count = 1, GENESIS_HASH, 0
    for event in iter_events(AuditEvent.objects.all(), chunk_size=chunk_size):
        problem = _link_problem(event, expected_sequence, previous)
        if problem:
            return ChainReport(count, previous, problem)
        count += 1
        expected_sequence, previous = event.sequence + 1, event.content_hash
    head = AuditChainHead.objects.filter(singleton=1).first()
    last = expected_sequence - 1
    if head is None:
        problem = f"the chain head is missing but {count} events exist" if count else ""
        return ChainReport(count, previous, problem)
    if head.sequence != last or head.last_hash != previous:
        if head.sequence > last:
            problem = (
                f"events #{last + 1} to #{head.sequence} are missing at the end "
                f"(the chain head records #{head.sequence}): the tail was removed"
            )
        else:
            problem = (
                f"the chain head records #{head.sequence} ({head.last_hash[:12]}…) "
                f"but the chain ends at #{last} ({previous[:12]}…)"
            )
        return ChainReport(count, previous, problem)
    return ChainReport(count, previous)


def _link_problem(event: AuditEvent, expected_sequence: int, previous: str) -> str:
    # Sequences are unique and read in order, so a jump means rows were removed.
    if event.sequence != expected_sequence:
        missing = (
            f"#{expected_sequence}"
            if event.sequence == expected_sequence + 1
            else f"#{expected_sequence} to #{event.sequence - 1}"
        )
        return f"event {missing} is missing (deleted) before #{event.sequence}"
    if content_hash(event) != event.content_hash:
        return (
            f"event #{event.sequence} ({event.event_type}) was changed after it "
            "was written: its content no longer matches its hash"
        )
    if event.previous_hash != previous:
        return (
            f"event #{event.sequence} does not follow #{event.sequence - 1}: the "
            "hash it records for its predecessor differs (an earlier event was "
            "changed or replaced)"
        )
    return ""


# --- reading -----------------------------------------------------------------------


def iter_events(
    events: QuerySet[AuditEvent], *, chunk_size: int = 1000
) -> Iterator[AuditEvent]:
    """Walk a queryset of events in sequence order, `chunk_size` rows at a time,
    by keyset pagination: memory stays flat however many rows match."""
    after = 0
    while True:
        chunk = list(
            events.filter(sequence__gt=after).order_by("sequence")[:chunk_size]
        )
        if not chunk:
            return
        yield from chunk
        after = chunk[-1].sequence


def sensitive_reveal(
    *,
    event: AuditEvent,
    name: str,
    user: AbstractBaseUser,
    reason: str,
    request: HttpRequest | None = None,
) -> str:
    """The plain value of `event.details[name]` for `user`, who has the
    reveal permission (the caller checks), recorded as a SENSITIVE_REVEALED
    event with `reason`. Raises KeyError or SecretUnavailable as
    `reveal_value` does; nothing is recorded then."""
    value = reveal_value(event, name)
    record_event(
        EventType.SENSITIVE_REVEALED,
        actor=user,
        request=request,
        document_public_id=event.document_public_id,
        details={
            "event_sequence": event.sequence,
            "event_type": event.event_type,
            "value_of": name,
            "reason": reason,
        },
    )
    return value
