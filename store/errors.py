"""The store's exception family: what callers outside store/ may catch."""

from __future__ import annotations


class StoreError(Exception):
    """The database could not be opened, migrated, read or written."""

    def __init__(self, message: str, orig: BaseException | None = None) -> None:
        super().__init__(message)
        # The driver's or SQLAlchemy's exception, for a caller that wants more than the message.
        self.orig = orig
