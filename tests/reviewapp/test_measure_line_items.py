"""measure_line_items: the page's lines against the XML's, on the ZUGFeRD PDFs."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import DATASETS


def test_it_prints_per_document_and_overall_figures() -> None:
    out = io.StringIO()
    call_command(
        "measure_line_items", str(DATASETS / "zugferd-corpus" / "pdfs"), stdout=out
    )
    text = out.getvalue()
    physio = next(line for line in text.splitlines() if "Physiotherapeut" in line)
    assert re.search(r"lines +2/2 +amounts 2/2$", physio)
    summary = text.splitlines()[-1]
    found = re.match(
        r"documents (\d+); line count right on (\d+)/\1; amounts read (\d+)/(\d+)",
        summary,
    )
    assert found is not None
    # Line counts right on most documents, over half the amounts read.
    assert int(found[2]) >= 12 and int(found[3]) * 2 > int(found[4])


def test_a_folder_without_e_invoices_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no PDF with XML line items"):
        call_command("measure_line_items", str(tmp_path))
