"""A throwaway database for a benchmark: created, migrated, filled and
committed, statistics gathered as production keeps them, then dropped.

A benchmark that fills the configured database inside a transaction it rolls
back measures something production never sees: PostgreSQL plans uncommitted
rows with estimates autovacuum never made, and reads tuples whose visibility
nobody has checked yet (no index-only scans). So the rows go into a database
of their own, named from the configured one, never into the configured one.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Model


@dataclass
class ScratchDatabase:
    """Where the benchmark runs and how it was prepared (for the report)."""

    name: str
    vendor: str
    seconds_to_migrate: float = 0.0
    statistics: str = ""

    def describe(self, filled: str) -> str:
        return (
            f"Database       scratch {self.vendor} database {self.name}: migrated "
            f"in {self.seconds_to_migrate:.1f} s, {filled}, committed; "
            f"{self.statistics}; dropped at the end"
        )


def _scratch_name() -> str:
    token = secrets.token_hex(4)
    if connection.vendor == "sqlite":
        # A file beside the others Vouch keeps, never the configured one.
        return str(Path(settings.VAR_DIR) / f"benchmark-{token}.sqlite3")
    # PostgreSQL names are at most 63 bytes.
    return f"{connection.settings_dict['NAME'][:40]}_benchmark_{token}"


@contextmanager
def scratch_database() -> Iterator[ScratchDatabase]:
    """Point the default connection at a new, migrated database for the
    duration, then drop it and point back. Refuses inside a transaction (the
    switch would close the connection under it)."""
    if connection.in_atomic_block:
        raise CommandError(
            "The benchmark makes a database of its own and cannot run inside a "
            "transaction."
        )
    test_settings = connection.settings_dict.setdefault("TEST", {})
    configured_name = connection.settings_dict["NAME"]
    kept_test_name = test_settings.get("NAME")
    test_settings["NAME"] = _scratch_name()
    started = time.perf_counter()
    try:
        name = connection.creation.create_test_db(
            verbosity=0, autoclobber=True, serialize=False
        )
    finally:
        test_settings["NAME"] = kept_test_name
    scratch = ScratchDatabase(
        name=name,
        vendor={"postgresql": "PostgreSQL", "sqlite": "SQLite"}.get(
            connection.vendor, connection.vendor
        ),
        seconds_to_migrate=time.perf_counter() - started,
    )
    try:
        yield scratch
    finally:
        connection.creation.destroy_test_db(configured_name, verbosity=0)


def gather_statistics(scratch: ScratchDatabase) -> None:
    """What a deployed database has after its rows settle: on PostgreSQL,
    autovacuum's VACUUM ANALYZE (the visibility map index-only scans need and
    the planner's estimates). SQLite is left as a deployment leaves it,
    without ANALYZE."""
    if connection.vendor != "postgresql":
        scratch.statistics = "no ANALYZE (SQLite as deployed)"
        return
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    scratch.statistics = f"VACUUM ANALYZE in {time.perf_counter() - started:.1f} s"


@contextmanager
def moments_as_given(model: type[Model], *names: str) -> Iterator[None]:
    """Let bulk_create write the moments a benchmark gives each row (auto_now
    and auto_now_add would stamp every row now), so each row is written once:
    rewriting them after would leave PostgreSQL a dead tuple per row."""
    fields: list[Any] = [model._meta.get_field(name) for name in names]
    kept = [(field.auto_now, field.auto_now_add) for field in fields]
    for field in fields:
        field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, (auto_now, auto_now_add) in zip(fields, kept, strict=True):
            field.auto_now, field.auto_now_add = auto_now, auto_now_add
