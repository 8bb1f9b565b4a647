"""Vectorised text columns for large files: a plain CSV read by Arrow's C++ reader into Arrow-backed text columns,
and the few operations the readers need on them (trim, full match, slice, cast to float) without one Python
object per cell.

Only the fast path of core.data.reading / dates / numbers uses this; every message still comes from those
modules, and anything Arrow cannot read plainly (quotes, ragged rows, odd numbers) goes back to them. Arrow works
in a jemalloc pool that returns freed pages at once, so its temporaries do not add up and the peak of an import
stays bounded (Arrow's default mimalloc pool keeps freed blocks for reuse: +100 MB on a 1M-row file).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np
import pandas as pd


def _pa() -> tuple[Any, Any, Any]:
    """pyarrow, its compute and csv modules (lazy: a large import, needed only for large files)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    return pa, pc, pacsv


def _pool() -> Any:
    """The allocator every Arrow call here uses: jemalloc told to hand freed pages back at once (decay 0), so
    temporaries do not pile up; the system allocator where this pyarrow has no jemalloc."""
    pa, _, _ = _pa()
    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(0)
    except (NotImplementedError, pa.ArrowNotImplementedError):
        return pa.system_memory_pool()
    return pool


def arrow(series: pd.Series) -> Any:
    """The column as an Arrow chunked array of text (converted once when it is not Arrow-backed)."""
    pa, _, _ = _pa()
    values = series.array
    if hasattr(values, "_pa_array"):
        return values._pa_array
    return pa.chunked_array([pa.array(series.astype(object).tolist(), type=pa.string(), memory_pool=_pool())])


def _column(values: Any) -> pd.Series:
    """An Arrow text array as a pandas text column (zero copy)."""
    return pd.Series(pd.arrays.ArrowStringArray(values))


def _trimmed(values: Any) -> Any:
    """Cells without surrounding white space; the array itself when no cell has any (no copy)."""
    _, pc, _ = _pa()
    pool = _pool()
    spaced = any(pc.any(pc.match_substring(values, ws, memory_pool=pool)).as_py() for ws in (" ", "\t", "\xa0"))
    padded = spaced and pc.any(pc.match_substring_regex(values, r"^\s|\s$", memory_pool=pool)).as_py()
    return pc.utf8_trim_whitespace(values, memory_pool=pool) if padded else values


def trim(values: pd.Series) -> pd.Series:
    """The column without white space around its cells (Arrow-backed; no copy when nothing needs trimming)."""
    return pd.Series(pd.arrays.ArrowStringArray(_trimmed(arrow(values))), index=values.index)


def read_plain_csv(body: memoryview, separator: str, n_fields: int) -> list[pd.Series] | None:
    """Every field of a plain table (UTF-8 bytes, no quotes, `n_fields` on every row) as trimmed text columns,
    the header row first; None when Arrow refuses the bytes (the careful reader then names the lines)."""
    pa, pc, pacsv = _pa()
    names = [f"f{i}" for i in range(n_fields)]
    try:
        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(body)),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 22, use_threads=True),
            parse_options=pacsv.ParseOptions(delimiter=separator, quote_char=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
            memory_pool=_pool(),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError):
        return None
    return [_column(_trimmed(table.column(n))) for n in names]


def fullmatch_all(values: pd.Series, pattern: str) -> bool:
    """True when every cell matches the regular expression as a whole."""
    _, pc, _ = _pa()
    return bool(pc.all(pc.match_substring_regex(arrow(values), f"^(?:{pattern})$", memory_pool=_pool())).as_py())


def slice_floats(values: pd.Series, start: int, stop: int, empty: float = 0.0) -> np.ndarray:
    """Characters start:stop of every cell read as numbers (cells too short for the slice read as `empty`)."""
    pa, pc, _ = _pa()
    pool = _pool()
    piece = pc.utf8_slice_codeunits(arrow(values), start, stop, memory_pool=pool)
    piece = pc.if_else(pc.equal(piece, "", memory_pool=pool), pa.scalar(repr(float(empty))), piece, memory_pool=pool)
    return pc.cast(piece, pa.float64(), memory_pool=pool).to_numpy()


def is_in_lower(values: pd.Series, words: Collection[str]) -> np.ndarray:
    """Per cell: is its lower-case text one of `words`."""
    pa, pc, _ = _pa()
    pool = _pool()
    lower = pc.utf8_lower(arrow(values), memory_pool=pool)
    found = pc.is_in(lower, value_set=pa.array(sorted(words), type=pa.string()), memory_pool=pool)
    return np.asarray(pc.fill_null(found, True).to_numpy(zero_copy_only=False), dtype=bool)


def to_floats(values: pd.Series, blank: np.ndarray) -> np.ndarray | None:
    """Every cell as a float (NaN where `blank`), or None when a cell is not a plain number."""
    pa, pc, _ = _pa()
    pool = _pool()
    text = pc.if_else(pa.chunked_array([pa.array(blank)]), pa.scalar("nan"), arrow(values), memory_pool=pool)
    try:
        return pc.cast(text, pa.float64(), memory_pool=pool).to_numpy()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
