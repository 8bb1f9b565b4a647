"""The store's errors, whatever the backend: a request that cannot be done as asked, in words that say what to do.

The backends turn their own failures (SQLite's busy, full, malformed...) into these, so no caller ever sees a
driver's exception; each is a ValueError, which the CLI and the pages show as a message, never a traceback.
"""

from __future__ import annotations


class StoreError(ValueError):
    """A workspace request that cannot be done as asked; the message says what to do instead."""


class UnknownReservoir(StoreError):
    """The named reservoir is not in the workspace; the message lists the ones that are."""


class WorkspaceDamaged(StoreError):
    """The database is missing, empty, unreadable or malformed; the message says what is left and how to recover."""


class StorageFailure(StoreError):
    """The disk or file system refused a read or write (full, read-only, stale -shm, I/O error); nothing was lost."""


class WorkspaceInUse(StoreError):
    """A restore or repair holds the workspace (a writer waits or is refused), or a writer holds it (a restore is
    refused); the message names who."""
