"""Measurement commands: how Vouch is measured, not run (`manage.py help`)."""
