"""The store's exception family: what callers outside store/ may catch."""

from __future__ import annotations


class StoreError(Exception):
    """The database could not be opened, migrated, read or written."""
