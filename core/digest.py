"""The one way the product hashes files and bytes (sha256): version checksums, backup manifests, upload identities.

A leaf: every layer that names a file by its content (the registry before it loads a model, a backup before it
restores, an import before it logs an upload) asks here, so a change of algorithm or chunk size is made once.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20  # 1 MiB: model files and backups are read in pieces, never whole


def sha256_bytes(data: bytes) -> str:
    """Hex digest of bytes in memory (an uploaded file, a reservoir's name)."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex digest of a file, read in chunks: recorded at save time and checked before every load or restore."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()
