"""A trained version's folder (model file + meta.json) as bytes, so a worker can hand it to the driver.

A tar in memory: workers never touch the workspace; the driver unpacks it into a temp folder under models/ and
adopts it. Unpacking accepts only plain files directly in the archive root, so a damaged or hostile archive can
not write outside the folder it is unpacked into.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path


class ArchiveError(ValueError):
    """A model archive is not what a cycle task writes; nothing was unpacked from it."""


def pack_folder(folder: Path) -> bytes:
    """The plain files directly inside `folder` as an uncompressed tar (Keras archives are zipped already)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path in sorted(Path(folder).iterdir()):
            if path.is_file():
                tar.add(path, arcname=path.name, recursive=False)
    return buf.getvalue()


def unpack_into(data: bytes, folder: Path) -> list[str]:
    """Write the archive's files into an existing empty folder; returns their names. Refuses anything but flat files."""
    names = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        members = tar.getmembers()
        for member in members:
            if not member.isfile() or Path(member.name).name != member.name or member.name in ("", ".", ".."):
                raise ArchiveError(f"Model archive entry '{member.name}' is not a plain file name; refusing it.")
        for member in members:
            source = tar.extractfile(member)
            if source is None:
                raise ArchiveError(f"Model archive entry '{member.name}' cannot be read.")
            (Path(folder) / member.name).write_bytes(source.read())
            names.append(member.name)
    return names
