"""`manage.py ingest`: the command-line door, through the same service as uploads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import django_rq
import pytest
from django.core.management import CommandError, call_command
from rq.serializers import JSONSerializer

from pipeline.ocr.recorded import RecordedOcrEngine
from reviewapp.models.documents import Document
from reviewapp.runtime.worker import DocumentWorker
from tests.conftest import REPO, shared_database_url


@pytest.mark.django_db
def test_it_ingests_files_and_folders_and_reports_refusals(
    tmp_path: Path, media_root: Path, invoice_png: bytes, capsys
) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "a.png").write_bytes(invoice_png)
    (folder / "notes.txt").write_text("not a document")
    with pytest.raises(CommandError, match="1 file\\(s\\) refused"):
        call_command("ingest", str(folder), str(folder / "a.png"))
    err = capsys.readouterr().err
    assert "notes.txt is not a file Vouch can read" in err
    assert "(already here: same file)" in err
    document = Document.objects.get()
    assert (document.channel, document.original_name) == ("cli", "a.png")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_wait_blocks_until_processed_and_prints_json_lines(
    tmp_path: Path,
    media_root: Path,
    invoice_png: bytes,
    recorded_ocr: type[RecordedOcrEngine],
) -> None:
    django_rq.get_queue("default").empty()
    invoice = tmp_path / "acme.png"
    invoice.write_bytes(invoice_png)
    command = subprocess.Popen(
        [sys.executable, "manage.py", "ingest", str(invoice), "--wait",
         "--timeout", "60"],
        cwd=REPO,
        env={**os.environ, "DATABASE_URL": shared_database_url(),
             "VOUCH_MEDIA_ROOT": str(media_root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    # The command is waiting; a real worker (here, in this process, with the
    # recorded OCR) processes what it enqueued.
    queue = django_rq.get_queue("default")
    deadline = time.monotonic() + 30
    while queue.count == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert command.poll() is None, command.communicate()
    django_rq.get_worker(
        "default", worker_class=DocumentWorker, serializer=JSONSerializer
    ).work(burst=True)
    out, err = command.communicate(timeout=60)
    assert command.returncode == 0, err
    [line] = out.strip().splitlines()
    result = json.loads(line)
    assert result["status"] == "ready"
    assert result["name"] == "acme.png"
    assert result["fields"]["total_amount"]["value"] == "120.50"
    assert result["fields"]["invoice_number"]["box"] == [40, 100, 420, 130]
