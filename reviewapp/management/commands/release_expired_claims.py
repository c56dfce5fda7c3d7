"""Return documents whose review claim expired to the queue. Safe to run
repeatedly; an expired claim can be taken over even before this runs, this
makes the document reappear in everyone's queue live."""

from __future__ import annotations

from typing import Any

from reviewapp.management.periodic import PeriodicCommand
from reviewapp.services.review import documents_release_expired_claims


class Command(PeriodicCommand):
    help = __doc__
    every_help = "keep running, checking every N seconds (what `make run` does)"

    def run_once(self, **options: Any) -> str:
        released = documents_release_expired_claims()
        for document in released:
            self.stdout.write(f"released {document.public_id} {document.original_name}")
        return f"{len(released)} expired claim(s) released"
