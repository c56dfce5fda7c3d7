"""Labelled synthetic invoices: more invoices to learn from than the dev data has.

`content.make_invoice(seed)` draws an internally consistent invoice (Faker
locales de, fr, en, it, nl, es; VAT ids and IBANs whose check digits hold;
line items that sum to the subtotal, tax per rate, gross total, amount due);
`render.render_invoice` lays it out with reportlab in one of many layouts
(letterheads as text or as a logo image, meta blocks, footers, multi-page with
the totals on the last page) and records every string it printed and where;
`scan.degrade` turns the pages into scan-like images (blur, noise, skew,
JPEG); `dataset.write_dataset` writes documents and a `manifest.jsonl` in the
format of `../shared/datasets`. Same seed, same bytes.

Plain Python: no Django, nothing of the review app.
"""
