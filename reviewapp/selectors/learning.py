"""Reads about what the machine learned: extractor versions."""

from __future__ import annotations

import logging

from reviewapp.models.learning import ExtractorVersion

logger = logging.getLogger(__name__)


def extractor_versions_listed() -> list[ExtractorVersion]:
    """Every extractor version, newest first, with who trained it."""
    return list(ExtractorVersion.objects.select_related("created_by").defer("artefact"))
