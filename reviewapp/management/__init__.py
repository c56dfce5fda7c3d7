"""Operational management commands: ingest, requeue, export, verify, retrain..."""
