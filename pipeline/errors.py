"""The one exception a pipeline stage raises to stop cleanly with a reason."""

from __future__ import annotations


class UnreadableDocument(Exception):
    """The document cannot be processed, for a reason the sender can act on.

    `reason` is shown to the person who sent the file, so it names the problem in
    their terms ("the PDF is password-protected"), never a stack trace.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
