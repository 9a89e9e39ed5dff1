"""The store's exception family: what callers outside store/ may catch."""

from __future__ import annotations


class StoreError(Exception):
    """The database could not be opened, migrated, read or written."""

    def __init__(self, message: str, orig: BaseException | None = None) -> None:
        super().__init__(message)
        # The driver's or SQLAlchemy's exception, for a caller that wants more than the message.
        self.orig = orig


class DatabaseURLError(StoreError):
    """A database URL newsmon cannot use: not a URL, an unsupported scheme, a driver not installed."""


class NoDatabase(StoreError):
    """No newsmon database at the URL, and the caller asked not to create one (a reader)."""

    def __init__(self, where: str) -> None:
        super().__init__(f"no newsmon database at {where}")
        # The SQLite file's path, or the redacted URL of a server database without newsmon's tables.
        self.where = where
