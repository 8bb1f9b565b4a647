"""Which reader a file needs: a workbook by its bytes, an RDB or CDEC file by its first lines, else a plain CSV."""

from __future__ import annotations

from core.data.formats import SourceFile, cdec, excel, rdb


def read_source(data: bytes, name: str, text: str | None, sheet: str | None = None) -> SourceFile | str | None:
    """The file read by its format (a SourceFile), why it cannot be (text), or None for a plain CSV.

    `text` is the decoded file (None for binary bytes such as a workbook).
    """
    if text is None:
        return excel.read(data, name, sheet) if excel.is_workbook(data) else None
    for reader in (rdb, cdec):
        if reader.detect(text):
            return reader.read(text, name)
    return None
