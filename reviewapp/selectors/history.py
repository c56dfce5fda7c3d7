"""A document's history as people read it: a timeline of plain sentences
("Read by the machine in 4.2 s", "alice corrected Total from 12.50 to 12.60"),
grouped by who acted, every sensitive value masked. Job ids, hashes and the raw
details are the auditors' (see `document_timeline`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from reviewapp.audit.trail import canonical_json, is_envelope, masked_details
from reviewapp.extraction_fields import FIELD_LABELS, label_for_type
from reviewapp.masking import SecretSet, document_secret_set, mask_text
from reviewapp.models.audit import AuditEvent
from reviewapp.models.documents import Document
from reviewapp.selectors.review_page import field_label

EventType = AuditEvent.EventType

HISTORY_LIMIT = 500

# How an entry is drawn: the machine's work, a person's edit, a decision on
# the document, or someone seeing or taking its data out.
MACHINE = "machine"
EDIT = "edit"
DECISION = "decision"
ACCESS = "access"

MACHINE_ACTOR = "Vouch"

CHANNEL_SENTENCES = {
    "upload": "{actor} uploaded {name}",
    "email": "{name} arrived by email",
    "watch_folder": "{name} was picked up from the watched folder",
    "api": "{actor} sent {name} through the API",
    "cli": "{actor} imported {name} from the command line",
}
LINE_ACTIONS = {"add": "added", "delete": "removed", "split": "split"}


@dataclass(frozen=True)
class TimelineEntry:
    """One event, said in a sentence. `old_value` → `new_value` is the change
    it made, if any; `why` is the reason or note someone gave."""

    sequence: int
    occurred_at: datetime
    kind: str  # MACHINE, EDIT, DECISION or ACCESS
    text: str
    old_value: str = ""
    new_value: str = ""
    why: str = ""
    # (label, value) pairs for auditors only: job ids, hashes, raw details.
    technical: tuple[tuple[str, str], ...] = ()
    # (envelope key, label) of each value an allowed person may reveal:
    # ("new_value", "new value").
    reveals: tuple[tuple[str, str], ...] = ()

    @property
    def changes_value(self) -> bool:
        return bool(self.old_value or self.new_value)


@dataclass(frozen=True)
class TimelineGroup:
    """Consecutive events by one actor: one visit to the document."""

    actor: str
    role: str
    entries: tuple[TimelineEntry, ...]
    is_open: bool = False

    @property
    def started_at(self) -> datetime:
        return self.entries[0].occurred_at

    @property
    def ended_at(self) -> datetime:
        return self.entries[-1].occurred_at

    @property
    def headline(self) -> str:
        """What the visit came to: its last decision, else its first event."""
        decisions = [entry for entry in self.entries if entry.kind == DECISION]
        return (decisions[-1] if decisions else self.entries[0]).text

    @property
    def more(self) -> int:
        return len(self.entries) - 1


def document_timeline(
    *, document: Document, technical: bool = False
) -> list[TimelineGroup]:
    """The newest HISTORY_LIMIT audit events of `document`, oldest first, as
    groups of plain sentences with every sensitive value masked. `technical`
    (auditors: reviewapp.permissions.can_export_audit) adds each event's full
    recorded details; without it no job id, hash or raw detail is returned."""
    newest = AuditEvent.objects.filter(document_public_id=document.public_id).order_by(
        "-sequence"
    )[:HISTORY_LIMIT]
    events = list(reversed(list(newest)))
    context = _Context(
        document=document,
        secrets=document_secret_set(document.pk),
        started={
            _attempt_key(event): event
            for event in events
            if event.event_type == EventType.JOB_STARTED
        },
    )
    ended = {
        _attempt_key(event)
        for event in events
        if event.event_type in (EventType.JOB_FINISHED, EventType.JOB_FAILED)
    }
    visits: list[_Visit] = []
    for event in events:
        # A finished attempt says how long it took; its start adds nothing.
        if event.event_type == EventType.JOB_STARTED and _attempt_key(event) in ended:
            continue
        entry = _entry(event, context, technical=technical)
        actor = event.actor_username or MACHINE_ACTOR
        if not visits or visits[-1].actor != actor:
            visits.append(_Visit(actor=actor, role=event.actor_role.replace(",", ", ")))
        visits[-1].add(entry, _confirmation(event, context))
    return [
        TimelineGroup(
            actor=visit.actor,
            role=visit.role,
            entries=tuple(visit.entries),
            # The latest visit is what a reader most often wants.
            is_open=index == len(visits) - 1,
        )
        for index, visit in enumerate(visits)
    ]


@dataclass
class _Visit:
    """A group being built. A run of confirmations reads as one sentence
    ("confirmed Date, Tax and Total as read"), not eight lines."""

    actor: str
    role: str
    entries: list[TimelineEntry] = field(default_factory=list)
    confirming: str = ""  # CONFIRMED_READ or CONFIRMED_ABSENT, for the last entry
    confirmed: list[str] = field(default_factory=list)

    def add(self, entry: TimelineEntry, confirmation: tuple[str, str] | None) -> None:
        how, label = confirmation or ("", "")
        if how and how == self.confirming:
            self.confirmed.append(label)
            last = self.entries[-1]
            self.entries[-1] = replace(
                last,
                text=_confirmed_sentence(self.actor, self.confirmed, how),
                technical=last.technical + entry.technical,
            )
            return
        self.entries.append(entry)
        self.confirming, self.confirmed = how, [label]


CONFIRMED_READ = "read"
CONFIRMED_ABSENT = "absent"


def _confirmation(event: AuditEvent, context: _Context) -> tuple[str, str] | None:
    """(how, field label) when `event` confirms a field, else None."""
    if event.event_type != EventType.FIELD_CHANGED:
        return None
    label = context.label(str(event.details.get("field", "")))
    if event.details.get("confirmed_absent"):
        return CONFIRMED_ABSENT, label
    if event.details.get("confirmed_as_read"):
        return CONFIRMED_READ, label
    return None


def _confirmed_sentence(actor: str, labels: list[str], how: str) -> str:
    names = (
        labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
    )
    if how == CONFIRMED_ABSENT:
        verb = "is" if len(labels) == 1 else "are"
        return f"{actor} confirmed {names} {verb} not on this document"
    return f"{actor} confirmed {names} as read"


def _attempt_key(event: AuditEvent) -> tuple[Any, Any]:
    """One processing attempt (a job run in-process has no job id)."""
    return event.details.get("job_id"), event.details.get("attempt")


@dataclass(frozen=True)
class _Context:
    document: Document
    secrets: SecretSet
    started: Mapping[tuple[Any, Any], AuditEvent] = field(default_factory=dict)

    def masked(self, value: Any) -> str:
        return mask_text(_display(value), self.secrets)

    def label(self, name: str) -> str:
        if name in FIELD_LABELS:
            return label_for_type(name, self.document.document_type)
        return field_label(name)


@dataclass(frozen=True)
class _Said:
    kind: str
    text: str
    old_value: str = ""
    new_value: str = ""
    why: str = ""


def _entry(event: AuditEvent, context: _Context, *, technical: bool) -> TimelineEntry:
    details = masked_details(event.details)
    actor = event.actor_username or MACHINE_ACTOR
    sentence = SENTENCES.get(event.event_type, _generic)
    said = sentence(details, actor, context, event)
    return TimelineEntry(
        sequence=event.sequence,
        occurred_at=event.occurred_at,
        kind=said.kind,
        text=said.text,
        old_value=said.old_value,
        new_value=said.new_value,
        why=said.why,
        technical=_technical(event, details, context) if technical else (),
        reveals=tuple(
            (key, key.replace("_", " "))
            for key, value in event.details.items()
            if is_envelope(value)
        ),
    )


def _technical(
    event: AuditEvent, details: Mapping[str, Any], context: _Context
) -> tuple[tuple[str, str], ...]:
    """Everything the trail recorded, for auditors: the event's number and
    type, the request or job it came from, and each detail (masked)."""
    rows = [
        ("Event", f"#{event.sequence} {event.event_type}"),
        *((("Request", event.request_id),) if event.request_id else ()),
    ]
    started = context.started.get(_attempt_key(event))
    if started is not None and started is not event:
        rows.append(("Worker", _display(started.details.get("worker"))))
    rows += [
        (key.replace("_", " ").capitalize(), context.masked(value))
        for key, value in details.items()
    ]
    return tuple(rows)


def _display(value: Any) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return canonical_json(value)
    return str(value)


def _text(value: Any) -> str:
    """A detail as prose: empty stays empty (no dash in a sentence)."""
    return "" if value in (None, "") else str(value)


# --- one sentence per kind of event -----------------------------------------

Sentence = Callable[[Mapping[str, Any], str, _Context, AuditEvent], _Said]


def _ingested(
    details: Mapping[str, Any], actor: str, context: _Context, event: AuditEvent
) -> _Said:
    template = CHANNEL_SENTENCES.get(details.get("channel", ""), "{name} was received")
    name = context.masked(details.get("original_name") or "the document")
    if details.get("split_from"):
        batch = context.masked(str(details.get("batch_name") or "a batch"))
        pages = ", ".join(str(page) for page in details.get("batch_pages") or [])
        return _Said(MACHINE, f"{name} was split from {batch} (pages {pages})")
    text = template.format(actor=actor, name=name)
    size = details.get("size_bytes")
    if isinstance(size, int):
        text += f" ({_size(size)})"
    advice = details.get("quality_advice") or []
    why = "Image quality: " + "; ".join(advice) if advice else ""
    return _Said(MACHINE, text, why=why)


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def _read(
    details: Mapping[str, Any], actor: str, context: _Context, event: AuditEvent
) -> _Said:
    started = context.started.get(_attempt_key(event))
    text = "Read by the machine"
    if started is not None:
        seconds = (event.occurred_at - started.occurred_at).total_seconds()
        text += f" in {max(seconds, 0.0):.1f} s"
    pages = details.get("pages")
    if isinstance(pages, int) and pages:
        text += f", {pages} page{'s' if pages != 1 else ''}"
    return _Said(MACHINE, text + _attempt(details))


def _attempt(details: Mapping[str, Any]) -> str:
    attempt = details.get("attempt")
    return f" (attempt {attempt})" if isinstance(attempt, int) and attempt > 1 else ""


def _read_started(
    details: Mapping[str, Any], actor: str, context: _Context, event: AuditEvent
) -> _Said:
    return _Said(MACHINE, "Reading started" + _attempt(details))


def _read_failed(
    details: Mapping[str, Any], actor: str, context: _Context, event: AuditEvent
) -> _Said:
    retry = "; it will be tried again" if details.get("will_retry") else ""
    return _Said(
        MACHINE,
        "Reading failed" + _attempt(details) + retry,
        why=context.masked(details.get("reason", "")) if details.get("reason") else "",
    )


def _field_changed(
    details: Mapping[str, Any], actor: str, context: _Context, event: AuditEvent
) -> _Said:
    confirmation = _confirmation(event, context)
    if confirmation is not None:
        how, label = confirmation
        return _Said(EDIT, _confirmed_sentence(actor, [label], how))
    label = context.label(str(details.get("field", "")))
    old = mask_text(_text(details.get("old_value")), context.secrets)
    new = mask_text(_text(details.get("new_value")), context.secrets)
    verb = "corrected" if old and new else "filled in" if new else "cleared"
    return _Said(
        EDIT,
        f"{actor} {verb} {label}",
        old_value=old,
        new_value=new,
        why=context.masked(details["reason"]) if details.get("reason") else "",
    )


def _line_items_changed(
    details: Mapping[str, Any], actor: str, context: _Context, event: AuditEvent
) -> _Said:
    verb = LINE_ACTIONS.get(details.get("action", ""), "changed")
    rows = [
        " + ".join(_row_text(row) for row in details.get(key) or [])
        for key in ("old_value", "new_value")
    ]
    return _Said(
        EDIT,
        f"{actor} {verb} line {details.get('position', '')}".rstrip(),
        old_value=mask_text(rows[0], context.secrets) if verb != "added" else "",
        new_value=mask_text(rows[1], context.secrets) if verb != "removed" else "",
        why=context.masked(details["reason"]) if details.get("reason") else "",
    )


def _row_text(row: Mapping[str, Any]) -> str:
    """A line item in a few words: "Toner 2 x 45.00 = 90.00", with a times sign."""
    quantity, price = _text(row.get("quantity")), _text(row.get("unit_price"))
    parts = [_text(row.get("description")) or _text(row.get("item_code"))]
    parts.append(f"{quantity} × {price}" if quantity and price else quantity)
    amount = _text(row.get("amount"))
    text = " ".join(part for part in parts if part)
    return f"{text} = {amount}" if text and amount else text or amount


def _approved(
    details: Mapping[str, Any], actor: str, context: _Context, event: AuditEvent
) -> _Said:
    if details.get("straight_through"):
        return _Said(
            DECISION,
            "Approved automatically",
            why=context.masked(details.get("why", "")) if details.get("why") else "",
        )
    return _Said(DECISION, f"{actor} approved")


def _escalated(
    details: Mapping[str, Any], actor: str, context: _Context, event: AuditEvent
) -> _Said:
    reason = details.get("reason", "")
    label = (
        Document.EscalationReason(reason).label
        if reason in Document.EscalationReason.values
        else ""
    )
    who = "Sent" if details.get("by_routing") else f"{actor} escalated it"
    text = f"{who} to the supervisors" + (f": {label}" if label else "")
    note = details.get("note")
    return _Said(DECISION, text, why=context.masked(note) if note else "")


def _with_note(verb: str, kind: str = DECISION) -> Sentence:
    def sentence(
        details: Mapping[str, Any], actor: str, context: _Context, event: AuditEvent
    ) -> _Said:
        note = details.get("note") or details.get("reason")
        return _Said(kind, f"{actor} {verb}", why=context.masked(note) if note else "")

    return sentence


def _revealed(
    details: Mapping[str, Any], actor: str, context: _Context, event: AuditEvent
) -> _Said:
    if "value_of" in details:
        what = "a hidden value in this history"
    elif details.get("field") == "original file":
        what = "the original file"
    else:
        what = context.label(str(details.get("field", ""))) or "a hidden value"
    return _Said(
        ACCESS,
        f"{actor} revealed {what}",
        why=context.masked(details.get("reason", "")) if details.get("reason") else "",
    )


def _attested(
    details: Mapping[str, Any], actor: str, context: _Context, event: AuditEvent
) -> _Said:
    how = _text(details.get("how")).lower() or "a way on record"
    contact = _text(details.get("vendor_contact"))
    text = f"{actor} attested the new bank details: verified by {how}"
    if contact:
        text += f" with {context.masked(contact)}"
    verified_at = _text(details.get("verified_at"))
    if verified_at:
        text += f" on {_day_and_time(verified_at)}"
    note = details.get("note")
    return _Said(EDIT, text, why=context.masked(note) if note else "")


def _day_and_time(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def _exported(
    details: Mapping[str, Any], actor: str, context: _Context, event: AuditEvent
) -> _Said:
    export_format = _text(details.get("format")).upper()
    count = details.get("count")
    others = count - 1 if isinstance(count, int) and count > 1 else 0
    text = f"{actor} exported it" + (f" as {export_format}" if export_format else "")
    if others:
        text += f" with {others} other document{'s' if others != 1 else ''}"
    return _Said(ACCESS, text)


def _memory_learned(
    details: Mapping[str, Any], actor: str, context: _Context, event: AuditEvent
) -> _Said:
    label = context.label(str(details.get("field", "")))
    anchor = _text(details.get("anchor"))
    text = f"From {actor}'s correction, Vouch learned where this vendor prints {label}"
    if anchor:
        text += f" (after “{context.masked(anchor)}”)"
    return _Said(MACHINE, text)


def _memory_deleted(
    details: Mapping[str, Any], actor: str, context: _Context, event: AuditEvent
) -> _Said:
    label = context.label(str(details.get("field", "")))
    return _Said(EDIT, f"{actor} made Vouch forget where this vendor prints {label}")


def _split_proposed(
    details: Mapping[str, Any], actor: str, context: _Context, event: AuditEvent
) -> _Said:
    parts = details.get("parts") or []
    why = "; ".join(
        f"page {boundary.get('page')}: " + "; ".join(boundary.get("reasons") or [])
        for boundary in details.get("boundaries") or []
    )
    return _Said(
        MACHINE,
        f"Vouch found {len(parts)} documents in this file",
        why=context.masked(why),
    )


def _split_corrected(
    details: Mapping[str, Any], actor: str, context: _Context, event: AuditEvent
) -> _Said:
    changes = [f"split at page {page}" for page in details.get("split_at") or []]
    changes += [f"merged at page {page}" for page in details.get("merged_at") or []]
    return _Said(EDIT, f"{actor} corrected the split: " + ", ".join(changes))


def _split_confirmed(
    details: Mapping[str, Any], actor: str, context: _Context, event: AuditEvent
) -> _Said:
    count = len(details.get("parts") or [])
    if details.get("automatic"):
        return _Said(
            DECISION,
            f"Vouch split it into {count} documents: every page's decision was certain",
        )
    if count == 1:
        return _Said(DECISION, f"{actor} confirmed it is one document")
    return _Said(DECISION, f"{actor} confirmed the split into {count} documents")


def _fixed(text: str, kind: str) -> Sentence:
    def sentence(
        details: Mapping[str, Any], actor: str, context: _Context, event: AuditEvent
    ) -> _Said:
        return _Said(kind, text.format(actor=actor))

    return sentence


def _generic(
    details: Mapping[str, Any], actor: str, context: _Context, event: AuditEvent
) -> _Said:
    return _Said(MACHINE, f"{event.get_event_type_display()} ({actor})")


SENTENCES: dict[str, Sentence] = {
    EventType.DOCUMENT_INGESTED: _ingested,
    EventType.JOB_STARTED: _read_started,
    EventType.JOB_FINISHED: _read,
    EventType.JOB_FAILED: _read_failed,
    EventType.DOCUMENT_RETRY: _fixed("{actor} asked for it to be read again", EDIT),
    EventType.DOCUMENT_REPROCESS: _fixed(
        "{actor} asked for it to be read again from scratch", EDIT
    ),
    EventType.DOCUMENT_READ_DESPITE_QUALITY: _with_note(
        "had it read despite the poor image", EDIT
    ),
    EventType.SPLIT_PROPOSED: _split_proposed,
    EventType.SPLIT_CORRECTED: _split_corrected,
    EventType.SPLIT_CONFIRMED: _split_confirmed,
    EventType.DOCUMENT_REQUEUED: _fixed(
        "Its reading was lost and started again", MACHINE
    ),
    EventType.FIELD_CHANGED: _field_changed,
    EventType.LINE_ITEMS_CHANGED: _line_items_changed,
    EventType.DOCUMENT_CLAIMED: _fixed("{actor} started reviewing it", EDIT),
    EventType.DOCUMENT_RELEASED: _fixed("{actor} put it back in the queue", EDIT),
    EventType.DOCUMENT_APPROVED: _approved,
    EventType.DOCUMENT_REJECTED: _with_note("rejected it"),
    EventType.DOCUMENT_ESCALATED: _escalated,
    EventType.SENSITIVE_REVEALED: _revealed,
    EventType.DOCUMENT_DOWNLOADED: _fixed(
        "{actor} downloaded the original file", ACCESS
    ),
    EventType.DOCUMENTS_EXPORTED: _exported,
    EventType.DOCUMENT_MARKED_EXPORTED: _fixed("{actor} marked it exported", ACCESS),
    EventType.DOCUMENT_PURGED: _fixed(
        "Purged under the retention policy: its file and values were deleted",
        MACHINE,
    ),
    EventType.BANK_DETAILS_ATTESTED: _attested,
    EventType.VENDOR_MEMORY_LEARNED: _memory_learned,
    EventType.VENDOR_MEMORY_DELETED: _memory_deleted,
}
