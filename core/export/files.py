"""Charts and forecast tables as files an operator can attach to a report: PNG/SVG/PDF, offline HTML, safe CSV."""

from __future__ import annotations

import asyncio
import atexit
import csv
import html
import io
import os
import re
import shutil
import threading
import time
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from core.charts import plotly_config
from core.jsonio import write_atomic

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from core.forecast.issue import Forecast

EXPORT_FORMATS = ("png", "svg", "pdf", "html", "csv")
STATIC_FORMATS = ("png", "svg", "pdf")
DATE_COLUMN = "date"
LEAD_COLUMN = "lead_days"

CHROMIUM_HINT = (
    "Static export (PNG, SVG, PDF) needs Chromium: install Debian's 'chromium' package "
    "(`sudo apt-get install chromium`; `make run` does this) or set BROWSER_PATH to a Chrome/Chromium binary. "
    "HTML and CSV exports work without it."
)
_BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
_TYPICAL_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
START_TIMEOUT_S = 60.0
RENDER_TIMEOUT_S = 60.0


class ExportError(RuntimeError):
    """A chart or table cannot be exported; the message says what to install or change."""


# ---------------------------------------------------------------- static images via kaleido + system Chromium


def find_chromium() -> str:
    """The browser kaleido should drive: $BROWSER_PATH if set, else Chromium/Chrome on PATH or in /usr/bin."""
    env = os.environ.get("BROWSER_PATH")
    if env:
        if Path(env).is_file() and os.access(env, os.X_OK):
            return env
        raise ExportError(f"BROWSER_PATH={env!r} is not an executable file. {CHROMIUM_HINT}")
    for name in _BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    for candidate in _TYPICAL_PATHS:
        if Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise ExportError(CHROMIUM_HINT)


class _Renderer:
    """One headless Chromium kept open on a background event loop, so only the first export pays its start-up."""

    def __init__(self, browser: str) -> None:
        self.browser = browser
        self.started_in_s: float | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kaleido-export", daemon=True)
        self._thread.start()
        self._kaleido: Any = None

    def _run(self, coro: Any, timeout: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def start(self) -> None:
        t0 = time.perf_counter()
        self._run(self._open(), START_TIMEOUT_S)
        self.started_in_s = time.perf_counter() - t0

    async def _open(self) -> None:
        import kaleido

        # mathjax=False: kaleido would otherwise load MathJax from a CDN, which hangs offline.
        # The sandbox stays off (choreographer's default), which Chromium requires when running as root in a container.
        k = kaleido.Kaleido(path=self.browser, n=1, timeout=RENDER_TIMEOUT_S, mathjax=False)
        await k.open()
        self._kaleido = k

    def render(self, fig: Any, opts: dict[str, Any]) -> bytes:
        return self._run(self._kaleido.calc_fig(fig, opts=opts), RENDER_TIMEOUT_S + 5)

    def close(self) -> None:
        try:
            if self._kaleido is not None:
                self._run(self._kaleido.close(), 10)
        except Exception:  # noqa: BLE001  best effort at shutdown: the browser dies with its pipe anyway
            pass
        finally:
            self._kaleido = None
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)


_RENDERER: _Renderer | None = None
_LOCK = threading.Lock()  # one render at a time: the browser has one tab, and Streamlit sessions share this process


def _renderer() -> _Renderer:
    """The running renderer, started on first use (caller holds _LOCK)."""
    global _RENDERER
    if _RENDERER is None:
        try:
            import kaleido  # noqa: F401
        except ImportError as exc:
            raise ExportError("Static export needs the 'kaleido' package: pip install 'kaleido>=1'.") from exc
        renderer = _Renderer(find_chromium())
        try:
            renderer.start()
        except Exception as exc:
            renderer.close()
            raise ExportError(
                f"Could not start Chromium at {renderer.browser} for static export ({type(exc).__name__}: {exc}). "
                f"{CHROMIUM_HINT}"
            ) from exc
        _RENDERER = renderer
    return _RENDERER


def stop_exporter() -> None:
    """Close the headless browser; the next static export starts a new one."""
    global _RENDERER
    with _LOCK:
        if _RENDERER is not None:
            _RENDERER.close()
            _RENDERER = None


atexit.register(stop_exporter)


def figure_bytes(fig: go.Figure, fmt: str, *, width: int = 1200, height: int = 600, scale: float = 2) -> bytes:
    """PNG, SVG or PDF of a figure at report size, rendered by the same plotly.js the dashboard uses."""
    global _RENDERER
    fmt = fmt.lower().lstrip(".")
    if fmt not in STATIC_FORMATS:
        raise ExportError(
            f"'{fmt}' is not a static image format; use one of {', '.join(STATIC_FORMATS)} "
            "(figure_html gives interactive HTML, table_csv gives CSV)."
        )
    opts = {"format": fmt, "width": int(width), "height": int(height), "scale": float(scale)}
    with _LOCK:
        renderer = _renderer()
        try:
            return renderer.render(fig, opts)
        except Exception as exc:
            # A dead or stuck browser is replaced on the next call rather than failing every export after it.
            renderer.close()
            _RENDERER = None
            raise ExportError(f"Rendering the chart as {fmt.upper()} failed ({type(exc).__name__}: {exc}).") from exc


# ---------------------------------------------------------------- interactive HTML


def _plain_title(text: str | None) -> str | None:
    """A plotly title as plain text: its first line, tags dropped, entities read back (plotly titles are HTML)."""
    if not text:
        return None
    first = re.split(r"<br\s*/?>", text, maxsplit=1)[0]
    return html.unescape(re.sub(r"<[^>]*>", "", first)).strip() or None


def figure_html(fig: go.Figure, *, title: str | None = None, filename: str = "chart", notes: Sequence[str] = ()) -> str:
    """A single HTML file with plotly.js inlined, so the chart stays interactive offline and in e-mail attachments.

    `title` is plain text (escaped here, once); without it the chart's own title is used. `notes` are plain-text
    lines shown above the chart (the alert on each side), so the file says what the CSV header says.
    """
    if title is None:
        head = fig.layout.title
        parts = [_plain_title(head.text), _plain_title(head.subtitle.text)] if head is not None else []
        title = " — ".join(p for p in parts if p) or "Reservoir Sentinel chart"
    body = fig.to_html(
        full_html=False,
        include_plotlyjs=True,
        include_mathjax=False,
        config=plotly_config(filename),
        default_width="100%",
        default_height=f"{int(fig.layout.height or 600)}px",
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n"
        "<style>body{margin:0;padding:12px;font-family:'DejaVu Sans',Arial,sans-serif;background:#fff}"
        ".notes{margin:4px 8px 8px;font-size:14px;color:#333}.notes p{margin:2px 0}</style>\n"
        f"</head>\n<body>\n{_notes_html(notes)}{body}\n</body>\n</html>\n"
    )


def _notes_html(notes: Sequence[str]) -> str:
    """Plain-text lines as escaped paragraphs above the chart (nothing when there are none)."""
    if not notes:
        return ""
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in notes)
    return f'<div class="notes" role="note">{paragraphs}</div>\n'


# ---------------------------------------------------------------- files on disk


def current_umask() -> int:
    """The process umask, read without changing it where Linux says it (else set and restored at once)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_export(path: Path, data: bytes) -> Path:
    """Write an export atomically with the permissions any new file gets (the temp file behind an atomic write
    is private, 0600; a report someone else must open needs the umask's 0644 or 0664)."""
    path = Path(path)
    write_atomic(path, data)
    os.chmod(path, 0o666 & ~current_umask())
    return path


# ---------------------------------------------------------------- tables


def _header(variable: str, unit: str | None) -> str:
    return f"{variable} ({unit})" if unit else variable


def forecast_table(forecast: Forecast, extra_columns: dict[str, Sequence[Any]] | None = None) -> pd.DataFrame:
    """The issued forecast as rows an operator can paste into a log: date, lead, value (unit in the header)."""
    points = forecast.points
    frame = pd.DataFrame(
        {
            DATE_COLUMN: [p.date for p in points],
            LEAD_COLUMN: pd.Series([int(p.lead) for p in points], dtype="int64"),
            _header(forecast.target, forecast.unit): pd.Series([float(p.value) for p in points], dtype="float64"),
        }
    )
    if any(p.observed is not None for p in points):
        frame[_header(f"observed {forecast.target}", forecast.unit)] = pd.Series(
            [float("nan") if p.observed is None else float(p.observed) for p in points], dtype="float64"
        )
    for name, values in (extra_columns or {}).items():
        values = list(values)
        if len(values) != len(points):
            raise ValueError(f"Extra column '{name}' has {len(values)} values; the forecast has {len(points)} days.")
        if name in frame.columns:
            raise ValueError(f"Extra column '{name}' would replace a forecast column; give it another name.")
        frame[name] = values
    return frame


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def guard_cell(value: Any) -> Any:
    """Prefix text a spreadsheet would run as a formula (even after spaces) with "'"; numeric text passes unchanged."""
    if isinstance(value, str) and value.lstrip(" ").startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def comment_cells(line: str) -> list[str]:
    """A '# ...' comment line as the cells a spreadsheet will see, none of which can start a formula.

    The line is split where a spreadsheet would split it (at commas) and each piece guarded; the csv module then
    quotes what needs quoting, so a name holding quotes (`Dam,"=HYPERLINK(...)"`) stays literal text. The line
    keeps its leading '#' unquoted for comment-aware readers (pandas comment="#"): a first piece that would need
    quotes gives the '#' a cell of its own.
    """
    text = " ".join(line.splitlines())
    if not text.startswith("#"):
        text = "# " + text
    cells = [guard_cell(piece) for piece in text.split(",")]
    if '"' in cells[0]:
        cells = ["#", guard_cell(cells[0][1:].lstrip()), *cells[1:]]
    return cells


def table_csv(frame: pd.DataFrame, *, header_lines: Sequence[str] = ()) -> str:
    """CSV text safe to open in a spreadsheet (no formula injection), with optional '# key: value' lines on top."""
    out = frame.copy()
    if not isinstance(out.index, pd.RangeIndex) or out.index.name is not None:
        out = out.reset_index()
    out.columns = [guard_cell(str(c)) for c in out.columns]
    for col in out.columns:
        series = out[col]
        if pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(series.dtype):
            out[col] = series.astype(object).map(guard_cell)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for line in header_lines:
        writer.writerow(comment_cells(line))
    # RFC 4180 line ends: with them the csv writer quotes cells holding a bare CR, so no cell can split a row.
    out.to_csv(buffer, index=False, lineterminator="\r\n")
    return buffer.getvalue()


def csv_bytes(text: str) -> bytes:
    """UTF-8 with a byte-order mark, so Excel shows units like 'hm³' correctly."""
    return text.encode("utf-8-sig")


def safe_filename(*parts: str, ext: str) -> str:
    """An ASCII file name from free text (reservoir names, versions, dates) that cannot escape its folder."""
    pieces = []
    for part in parts:
        text = unicodedata.normalize("NFKD", str(part)).encode("ascii", "ignore").decode("ascii")
        text = re.sub(r"[^A-Za-z0-9_-]+", "-", text)
        text = re.sub(r"-{2,}", "-", text).strip("-_")
        if text:
            pieces.append(text)
    stem = "_".join(pieces)[:120].strip("-_") or "export"
    suffix = re.sub(r"[^a-z0-9]+", "", str(ext).lower())
    return f"{stem}.{suffix}" if suffix else stem
