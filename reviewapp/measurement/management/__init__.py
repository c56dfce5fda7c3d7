"""Measurement management commands (listed under [measurement] by `manage.py help`)."""
