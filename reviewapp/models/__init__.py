"""Vouch's data, one module per domain; imported so Django registers every model."""

from reviewapp.models import (  # noqa: F401
    api_tokens,
    audit,
    configuration,
    documents,
    fields,
    learning,
    master_data,
    operations,
    review,
    validation,
    webhooks,
)
