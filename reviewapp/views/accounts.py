"""Signing in: Django's own view, its writes in one transaction."""

from __future__ import annotations

from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.db import transaction
from django.http import HttpResponse


class SignInView(LoginView):
    """A sign-in writes the last sign-in time, the audit event and clears the
    person's failed attempts (django-axes). Each would otherwise be its own
    transaction; on SQLite each waits its turn for the one writer, behind the
    workers' writes, and a sign-in under load paid that wait three times.
    The password check runs before, outside the transaction, so its tens of
    milliseconds never hold the write lock."""

    @transaction.atomic
    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        return super().form_valid(form)
