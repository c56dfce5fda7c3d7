"""Secrets kept out of every log line: keys, tokens and passwords.

`log_masking` masks sensitive business values (IBAN, VAT id) by shape; this
filter removes credentials: the configured secrets themselves (SECRET_KEY,
VOUCH_AUDIT_KEY, the mail and database passwords) wherever they appear, and
anything that looks like an API token or a password in a header, a query
string or a form body. Attached to every handler in settings.LOGGING.
"""

from __future__ import annotations

import logging
import re

from django.conf import settings

from reviewapp.audit.log_masking import rewrite_record

REDACTED = "[redacted]"
# "Authorization: Token abc", "Bearer abc", "token=abc", "password=abc",
# "'password': 'abc'": the value after the name, whatever quotes surround it;
# unquoted, to the end of the line (a password may hold spaces).
_CREDENTIAL = re.compile(
    r"(?i)(\b(?:token|bearer|api[_-]?key|password|passwd|secret|csrfmiddlewaretoken)"
    r"\b['\"]?\s*[:=]?\s*)('[^']*'|\"[^\"]*\"|[^'\"&,;}\n]{6,})"
)


def _configured_secrets() -> list[str]:
    values = [
        getattr(settings, "SECRET_KEY", ""),
        getattr(settings, "VOUCH_AUDIT_KEY", ""),
        getattr(settings, "EMAIL_HOST_PASSWORD", ""),
        str(settings.DATABASES.get("default", {}).get("PASSWORD") or ""),
    ]
    return [value for value in values if value and len(value) >= 6]


def redact_secrets(text: str) -> str:
    for secret in _configured_secrets():
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _CREDENTIAL.sub(_redacted, text)


def _redacted(match: re.Match[str]) -> str:
    value = match[2]
    if value[:1] in "'\"" and len(value) >= 2:  # a quoted value, spaces and all
        return f"{match[1]}{value[0]}{REDACTED}{value[0]}"
    return match[1] + REDACTED


class SecretRedactingFilter(logging.Filter):
    """Redacts credentials in a record's message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        rewrite_record(record, redact_secrets)
        return True
