"""Writing synthetic invoices as a dataset folder in the format of
`../shared/datasets`: the scans, the clean PDFs they were made from, recorded
OCR lines per page, and `manifest.jsonl` with the labels."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.synthetic.content import Invoice, make_invoice
from pipeline.synthetic.render import Rendered, render_invoice
from pipeline.synthetic.scan import boxes_text, degrade, encode_scan, ocr_lines

GENERATOR = "vouch-synthetic/1"


def labels_of(invoice: Invoice) -> dict[str, str]:
    """The manifest labels (normalised as the dev datasets' README says)."""
    labels = {
        "vendor_name": invoice.vendor.name,
        "address": invoice.address_label(),
        "invoice_number": invoice.number,
        "invoice_date": invoice.issued.isoformat(),
        "due_date": invoice.due.isoformat(),
        "currency": invoice.currency,
        "subtotal_amount": f"{invoice.subtotal:.2f}",
        "tax_amount": f"{invoice.tax:.2f}",
        "total_amount": f"{invoice.total:.2f}",
        "amount_due": f"{invoice.amount_due:.2f}",
        "iban": invoice.iban,
        "vendor_vat_id": invoice.vendor.vat_id,
        "customer_name": invoice.customer.name,
    }
    if invoice.po_number:
        labels["po_number"] = invoice.po_number
    return labels


def printed_values(rendered: Rendered) -> dict[str, list[dict[str, Any]]]:
    """Per labelled field, every string that printed it and where: what a test
    compares the labels with."""
    out: dict[str, list[dict[str, Any]]] = {}
    for item in rendered.printed:
        if item.field is None:
            continue
        out.setdefault(item.field, []).append(
            {"page": item.page, "text": item.text, "in_image": item.in_image}
        )
    return out


def build_document(
    seed: int, doc_id: str, *, scan: bool = True
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest entry and the files (relative path -> bytes) of `seed`.
    Without `scan`, no page image is made (the costly part): the entry then
    has recorded OCR lines and no `file`, like the SROIE text manifest."""
    invoice = make_invoice(seed)
    rendered = render_invoice(invoice, seed)
    files = {f"pdfs/{doc_id}.pdf": rendered.pdf}
    entry: dict[str, Any] = {}
    dpi = 200
    degradation: dict[str, Any] = {}
    if scan:
        images, how = degrade(rendered, seed)
        data, extension = encode_scan(images, how.dpi)
        dpi, degradation = how.dpi, how.__dict__
        files[f"scans/{doc_id}.{extension}"] = data
        entry = {
            "file": f"scans/{doc_id}.{extension}",
            "format": "jpeg" if extension == "jpg" else "pdf",
            "width": images[0].width,
            "height": images[0].height,
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    boxes = []
    for number, lines in enumerate(ocr_lines(rendered, dpi), start=1):
        path = f"ocr_boxes/{doc_id}-p{number}.txt"
        files[path] = boxes_text(lines).encode()
        boxes.append(path)
    entry |= {
        "doc_id": doc_id,
        "doc_type": "invoice",
        "split": "synthetic",
        "labels": labels_of(invoice),
        "raw_labels": {
            "seed": seed,
            "locale": invoice.locale.code,
            "layout": rendered.layout,
            "degradation": degradation,
        },
        "label_flags": [],
        "source": f"{GENERATOR}:seed={seed}",
        "pages": rendered.pages,
        "digital_file": f"pdfs/{doc_id}.pdf",
        # The page lines as an OCR engine reads them, page by page; the first
        # is also `ocr_boxes_file`, as in the SROIE manifests.
        "ocr_boxes_file": boxes[0],
        "ocr_boxes_files": boxes,
        "printed": printed_values(rendered),
    }
    return entry, files


def documents(
    count: int, first_seed: int = 0, *, scans: bool = True
) -> Iterator[tuple[dict[str, Any], dict[str, bytes]]]:
    for seed in range(first_seed, first_seed + count):
        yield build_document(seed, f"syn-{seed:05d}", scan=scans)


def write_dataset(
    folder: Path, count: int, first_seed: int = 0, *, scans: bool = True
) -> Path:
    """Write `count` documents and their manifest into `folder`; returns the
    manifest's path. Re-running with the same arguments writes the same bytes."""
    manifest = folder / "manifest.jsonl"
    folder.mkdir(parents=True, exist_ok=True)
    with manifest.open("w", encoding="utf-8") as out:
        for entry, files in documents(count, first_seed, scans=scans):
            for relative, data in files.items():
                path = folder / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            out.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
    return manifest


def read_entries(manifest: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for line in manifest.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
