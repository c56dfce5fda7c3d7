"""Validation rules: pure functions from an invoice and its context to issues.

Each rule takes `(InvoiceData, ValidationContext)` and returns a list of
`Issue`; it never looks anything up itself and never raises on odd input. The
rule set per document type, and the `validate` entry point, live in
`pipeline.registry`.
"""
