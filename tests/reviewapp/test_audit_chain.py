"""The audit trail: append-only, hash-chained, tamper-evident, secrets apart."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction

from reviewapp.audit.trail import (
    GENESIS_HASH,
    SecretUnavailable,
    canonical_content,
    content_hash,
    masked_details,
    record_event,
    reveal_value,
    sensitive_digest,
)
from reviewapp.models.audit import (
    AuditChainHead,
    AuditEvent,
    AuditImmutable,
    AuditSecret,
)
from tests.conftest import REPO

pytestmark = pytest.mark.django_db

IBAN = "DE89370400440532013000"
EventType = AuditEvent.EventType


def three_events(user: User | None = None) -> list[AuditEvent]:
    return [
        record_event(EventType.LOGIN, actor=user, details={"n": 1}),
        record_event(EventType.FIELD_CHANGED, actor=user, details={"n": 2.5}),
        record_event(EventType.LOGOUT, actor=user, details={"n": [3, "x"]}),
    ]


def verify() -> str:
    """verify_audit's output; raises CommandError (exit status 1) when broken."""
    from io import StringIO

    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def behind_the_orms_back(sql: str, params: list[object]) -> None:
    """Run raw SQL as an attacker with database access would; on PostgreSQL the
    attacker must first get past the append-only trigger."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Superuser only, and local to the test's transaction.
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)


def test_each_event_records_the_hash_of_the_one_before(clerk: User) -> None:
    # Creating the clerk was recorded already: the chain goes on from there.
    before = AuditEvent.objects.last()
    assert before is not None and before.event_type == EventType.ROLE_CHANGED
    first, second, third = three_events(clerk)
    start = before.sequence
    assert [first.sequence, second.sequence, third.sequence] == [
        start + 1,
        start + 2,
        start + 3,
    ]
    assert first.previous_hash == before.content_hash
    assert AuditEvent.objects.get(sequence=1).previous_hash == GENESIS_HASH
    assert second.previous_hash == first.content_hash
    assert third.previous_hash == second.content_hash
    head = AuditChainHead.objects.get()
    assert (head.sequence, head.last_hash) == (third.sequence, third.content_hash)
    stored = AuditEvent.objects.get(sequence=second.sequence)
    assert content_hash(stored) == stored.content_hash
    assert stored.actor_username == "clerk"
    assert stored.actor_role == "clerk"


def test_verify_audit_counts_an_intact_chain() -> None:
    three_events()
    assert "3 audit event(s) verified: OK" in verify()


def test_verify_audit_accepts_an_empty_trail() -> None:
    assert "0 audit event(s) verified: OK" in verify()


def test_an_edited_row_is_named_by_verify_audit() -> None:
    three_events()
    behind_the_orms_back(
        "UPDATE reviewapp_auditevent SET details = %s WHERE sequence = 2",
        ['{"n": 99}'],
    )
    with pytest.raises(CommandError, match=r"event #2 \(field_changed\) was changed"):
        verify()


def test_a_row_rewritten_with_a_fresh_hash_breaks_the_next_link() -> None:
    three_events()
    forged = AuditEvent.objects.get(sequence=2)
    forged.details = {"n": 99}
    behind_the_orms_back(
        "UPDATE reviewapp_auditevent SET details = %s, content_hash = %s "
        "WHERE sequence = 2",
        ['{"n": 99}', content_hash(forged)],
    )
    with pytest.raises(CommandError, match="event #3 does not follow #2"):
        verify()


def test_a_deleted_row_is_named_by_verify_audit() -> None:
    three_events()
    behind_the_orms_back("DELETE FROM reviewapp_auditevent WHERE sequence = 2", [])
    with pytest.raises(CommandError, match="event #2 is missing"):
        verify()


def test_a_removed_tail_is_caught_by_the_chain_head() -> None:
    three_events()
    behind_the_orms_back("DELETE FROM reviewapp_auditevent WHERE sequence = 3", [])
    with pytest.raises(CommandError, match="events #3 to #3 are missing at the end"):
        verify()


def test_reordered_rows_are_caught() -> None:
    three_events()
    behind_the_orms_back(
        "UPDATE reviewapp_auditevent SET sequence = sequence + 1000 "
        "WHERE sequence IN (1, 2)",
        [],
    )
    behind_the_orms_back(
        "UPDATE reviewapp_auditevent SET sequence = CASE sequence WHEN 1001 THEN 2 "
        "ELSE 1 END WHERE sequence > 1000",
        [],
    )
    with pytest.raises(CommandError, match=r"event #1 \(field_changed\) was changed"):
        verify()


def test_the_orm_refuses_to_change_or_delete_audit_rows() -> None:
    event, *_ = three_events()
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.filter(pk=event.pk).update(details={})
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.all().delete()
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.bulk_update([event], ["details"])
    event.details = {"n": 0}
    with pytest.raises(AuditImmutable):
        event.save()
    with pytest.raises(AuditImmutable):
        event.delete()
    assert AuditEvent.objects.count() == 3
    assert "3 audit event(s) verified: OK" in verify()


def test_the_database_itself_refuses_raw_changes_on_postgresql() -> None:
    three_events()
    if connection.vendor == "postgresql":
        for sql in (
            "UPDATE reviewapp_auditevent SET details = '{}' WHERE sequence = 1",
            "DELETE FROM reviewapp_auditevent WHERE sequence = 1",
        ):
            with (
                pytest.raises(DatabaseError, match="append-only"),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(sql)
        assert "3 audit event(s) verified: OK" in verify()
    else:
        # SQLite has no trigger (its test flush deletes rows); the chain is what
        # catches a raw change there.
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM reviewapp_auditevent WHERE sequence = 1")
        with pytest.raises(CommandError, match="event #1 is missing"):
            verify()


def test_unknown_event_types_are_refused() -> None:
    with pytest.raises(ValueError, match="not an audit event type"):
        record_event("coffee_made")
    assert not AuditEvent.objects.exists()


def test_sensitive_values_are_masked_in_the_row_and_encrypted_apart() -> None:
    event = record_event(
        EventType.FIELD_CHANGED,
        details={"field": "iban"},
        sensitive={"old_value": "", "new_value": IBAN},
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    envelope = stored.details["new_value"]
    assert envelope == {
        "mask": "DE****************3000",
        "digest": sensitive_digest(IBAN),
    }
    assert stored.details["old_value"] == ""
    assert IBAN not in canonical_content(stored)
    secret = AuditSecret.objects.get()
    assert IBAN not in secret.ciphertext
    assert masked_details(stored.details)["new_value"] == "DE****************3000"
    assert reveal_value(stored, "new_value") == IBAN


def test_redacting_a_secret_keeps_the_chain_verifiable() -> None:
    event = record_event(
        EventType.FIELD_CHANGED, sensitive={"new_value": IBAN}, details={"x": 1}
    )
    record_event(EventType.LOGOUT)
    AuditSecret.objects.filter(event_sequence=event.sequence).delete()
    assert "2 audit event(s) verified: OK" in verify()
    with pytest.raises(SecretUnavailable, match="redacted"):
        reveal_value(AuditEvent.objects.get(pk=event.pk), "new_value")


def test_a_secret_from_another_audit_key_is_not_revealed(settings) -> None:
    event = record_event(EventType.FIELD_CHANGED, sensitive={"v": IBAN})
    settings.VOUCH_AUDIT_KEY = "another-key-" + "x" * 32
    with pytest.raises(SecretUnavailable, match="another audit key"):
        reveal_value(event, "v")


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain() -> None:
    per_thread, errors = 15, []

    def append_many(name: str) -> None:
        try:
            for number in range(per_thread):
                with transaction.atomic():
                    record_event(
                        EventType.JOB_STARTED, details={"writer": name, "n": number}
                    )
        except Exception as error:  # reported below; a thread must not die silently
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=append_many, args=(str(i),)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    sequences = list(AuditEvent.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, 3 * per_thread + 1))
    assert f"{3 * per_thread} audit event(s) verified: OK" in verify()


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"DEBUG": "0"}, "VOUCH_AUDIT_KEY must be set when DEBUG is off"),
        ({"DEBUG": "0", "VOUCH_AUDIT_KEY": "short"}, "at least 32 characters"),
        ({"DEBUG": "1"}, ""),  # a development install derives one
    ],
)
def test_settings_insist_on_an_audit_key_outside_development(
    overrides: dict[str, str], complaint: str
) -> None:
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("VOUCH_AUDIT_KEY", "DEBUG")
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={
            **environment,
            **overrides,
            "DJANGO_SETTINGS_MODULE": "reviewapp.settings",
        },
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if complaint:
        assert result.returncode != 0
        assert complaint in result.stderr
    else:
        assert result.returncode == 0, result.stderr
