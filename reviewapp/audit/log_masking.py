"""Sensitive values kept out of logs and error reports.

Log lines and tracebacks are written before anyone knows which values are
sensitive, and the logging path must never query the database, so these mask
by shape: anything that looks like an IBAN or a VAT id is masked the way the
review page masks it. Over-masking a log line costs nothing; one clear IBAN in
a log aggregator is a leak.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

from django.http import HttpRequest
from django.utils.safestring import SafeString, mark_safe
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

# Country code, check digits, then 11-30 letters or digits in groups of four
# (spaced as printed) or run together.
_IBAN = re.compile(r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
# EU VAT ids: Austria's ATU + 8 digits, else a country code and 8-12 digits.
_VAT_ID = re.compile(r"\b(?:ATU[0-9]{8}|[A-Z]{2}[0-9]{8,12})\b")


def mask_sensitive_text(text: str) -> str:
    """`text` with every IBAN- or VAT-id-shaped value masked."""
    if not any(character.isdigit() for character in text):
        return text  # the common case: nothing to look for
    # Imported here: settings.LOGGING builds the filter before models load.
    from reviewapp.masking import mask_value

    text = _IBAN.sub(lambda match: mask_value(match[0]), text)
    return _VAT_ID.sub(lambda match: mask_value(match[0]), text)


class SensitiveValueFilter(logging.Filter):
    """Masks sensitive values in a record's message and traceback. Attach it to
    handlers (settings.LOGGING): a handler filter sees every record it writes,
    a logger filter only those logged on that very logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_sensitive_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            # Formatters reuse exc_text when it is set: format it here, masked.
            record.exc_text = mask_sensitive_text(
                "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            )
        elif record.exc_text:
            record.exc_text = mask_sensitive_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_sensitive_text(record.stack_info)
        return True


class SensitiveExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter (secrets in settings and marked variables), plus: POSTed
    field values are hidden whole (a BIC is too short to recognise by shape)
    and every frame variable whose text holds a sensitive value is masked."""

    def get_post_parameters(self, request: HttpRequest | None) -> Any:
        parameters = super().get_post_parameters(request)
        if request is None or "value" not in parameters:
            return parameters
        parameters = parameters.copy()
        parameters["value"] = self.cleansed_substitute
        return parameters

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        cleansed = []
        for name, value in variables:
            try:
                text = repr(value)
            except Exception:
                cleansed.append((name, value))
                continue
            masked = mask_sensitive_text(text)
            cleansed.append((name, masked if masked != text else value))
        return cleansed


class SensitiveExceptionReporter(ExceptionReporter):
    """The technical 500 page and the admins' error email, masked last: the
    exception's own message and the request's headers can hold a value too."""

    # Masking swaps letters and digits for "•": the HTML stays as safe as it was.
    def get_traceback_html(self) -> SafeString:
        return mark_safe(mask_sensitive_text(super().get_traceback_html()))  # noqa: S308

    def get_traceback_text(self) -> SafeString:
        return mark_safe(mask_sensitive_text(super().get_traceback_text()))  # noqa: S308
