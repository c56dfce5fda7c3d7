"""Vouch, the Django project: settings, URLs, ASGI, and the web product in layers."""
