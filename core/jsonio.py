"""JSON that is valid for every reader (no NaN tokens) and files written atomically: the one sanitiser of the app."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any


class JSONError(ValueError):
    """A value JSON cannot hold was given where strict JSON is required (stored rows, saved files)."""


def clean(obj: Any, where: str | None = None) -> Any:
    """Replace NaN/inf by None and numpy scalars by Python ones, recursively.

    With `where` (strict, for what the workspace stores): objects with to_dict() and paths become plain data,
    and anything else JSON cannot hold raises JSONError naming `where`, instead of being written as its str().
    """
    if isinstance(obj, dict):
        return {str(k): clean(v, where) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v, where) for v in obj]
    if where is not None and _has_to_dict(obj):
        return clean(obj.to_dict(), where)
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        with contextlib.suppress(ValueError, AttributeError):
            obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj if where is None else _plain(obj, where)


def _has_to_dict(obj: Any) -> bool:
    """Our dataclasses (not pandas objects, whose to_dict is a different thing) serialise themselves."""
    return callable(getattr(obj, "to_dict", None)) and type(obj).__module__.split(".")[0] != "pandas"


def _plain(obj: Any, where: str) -> Any:
    """A JSON scalar, a path as text, or a JSONError that says what to pass instead."""
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    raise JSONError(f"{where}: value of type {type(obj).__name__} cannot be stored as JSON; pass plain numbers/text.")


def dumps(obj: Any, indent: int | None = 2, where: str | None = None) -> str:
    """Strict JSON text of obj (NaN/inf become null); `where` also refuses values JSON cannot hold (see clean)."""
    return json.dumps(clean(obj, where), indent=indent, allow_nan=False, default=str)


def loads(text: str | None, default: Any = None) -> Any:
    """Parse JSON text, tolerating NULL columns and missing files' None."""
    return default if text is None else json.loads(text)


def number(value: Any) -> float | None:
    """A number read back from JSON, or None when it is missing, not a number (text, a list) or not finite."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


class AsDict:
    """Mixin for dataclasses whose JSON form is simply all their fields."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the CLI, pages and stored rows."""
        return asdict(self)  # only ever mixed into dataclasses


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write via a temp file in the same folder and rename, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8") if isinstance(text, str) else text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
