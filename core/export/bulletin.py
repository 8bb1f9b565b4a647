"""The forecast bulletin: one HTML document (and the PDF Chromium prints from it) an operator can send unedited.

What goes on each page is gathered by core.app.bulletin into the frozen dataclasses below; this module only lays
them out (every piece of user text through html.escape) and prints the HTML to PDF with the same Chromium the
chart exports use (text stays selectable and Chromium embeds the fonts it used).
"""

from __future__ import annotations

import base64
import html
import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.display import number
from core.export.files import ExportError, find_chromium
from core.jsonio import write_atomic

PAPERS = {"a4": "A4", "letter": "Letter"}  # --paper choice -> CSS @page size
PRINT_TIMEOUT_S = 90.0
STATE_COLOURS = {"danger": "#b42318", "warning": "#dc6803", "watch": "#b08800", "normal": "#067647"}
GREY = "#667085"
SEVERITY_RANK = {"watch": 1, "warning": 2, "danger": 3}  # the summary lists the most severe first


@dataclass(frozen=True)
class BulletinScenario:
    """One release scenario's outcome at the end of the horizon, as the scenario table shows it."""

    name: str  # e.g. "plain forecast", "release 2,000 m³/day"
    release: str  # the planned release in words, e.g. "2,000 m³/day every day" or "recorded"
    median_end: float  # median forecast on the last forecast day, in the forecast's unit
    band_end: tuple[float, float] | None  # 80 % band on the last day (None without calibrated bands)
    alert_words: str  # e.g. "flood WARNING, drought: normal"


@dataclass(frozen=True)
class SideWords:
    """The alert of one side (flood / drought) in words."""

    side: str
    state: str  # normal, watch, warning, danger, no levels, unknown
    reason: str


@dataclass(frozen=True)
class Table:
    """A small table already formatted as text: header cells and rows of cells."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Provenance:
    """Where the forecast comes from: when, from which data, which model, how its bands and skill have held up."""

    forecast_from: str  # the issue day: the last day of readings the forecast starts from
    data_through: str  # the last day with readings of the target
    model: str
    version: int
    trained: str | None
    coverage: str  # recent band coverage in words
    skill: str  # skill vs persistence in words


@dataclass(frozen=True)
class ReservoirSheet:
    """One reservoir's page: the forecast with its chart, alerts, exceedance, scenarios and provenance, or why not."""

    reservoir: str
    status: str  # "forecast", or "no model" / "no forecast" with `message` saying why and what to do
    message: str = ""
    target: str = ""
    unit: str | None = None
    headline: str = ""  # the overall alert in one sentence
    chart_svg: bytes | None = None
    chart_note: str = ""  # why the chart is missing, when it is
    alerts: tuple[SideWords, ...] = ()
    forecast: Table | None = None
    exceedance: Table | None = None
    scenarios: tuple[BulletinScenario, ...] = ()
    notes: tuple[str, ...] = ()
    provenance: Provenance | None = None

    @property
    def worst(self) -> str:
        """The most severe raised state of the sheet's sides ('normal' when none is raised)."""
        order = ("danger", "warning", "watch")
        states = {a.state for a in self.alerts}
        return next((s for s in order if s in states), "normal" if self.status == "forecast" else self.status)


@dataclass(frozen=True)
class Bulletin:
    """The whole document: when it was made, the paper, and a sheet per reservoir (summary first when several)."""

    made_at: str  # UTC, 'YYYY-MM-DD HH:MM UTC'
    paper: str  # a PAPERS key
    sheets: tuple[ReservoirSheet, ...]
    summary: bool = False  # a first page listing every reservoir's alert state
    title: str = "Reservoir forecast bulletin"
    footer: tuple[str, ...] = field(default=())


# ---------------------------------------------------------------- numbers and words


def scenario_table(scenarios: Sequence[BulletinScenario], unit: str | None) -> Table:
    """The scenario rows as a table: name, release, end-of-horizon median and 80 % band, alerts."""
    u = f" ({unit})" if unit else ""
    rows = tuple(
        (
            s.name,
            s.release,
            number(s.median_end),
            "-" if s.band_end is None else f"{number(s.band_end[0])} to {number(s.band_end[1])}",
            s.alert_words,
        )
        for s in scenarios
    )
    return Table(("scenario", "release", f"last day median{u}", f"last day 80 % band{u}", "alerts"), rows)


# ---------------------------------------------------------------- HTML

CSS = """
@page { size: %(paper)s; margin: 13mm 12mm 14mm 12mm; }
* { box-sizing: border-box; }
body { font-family: 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; font-size: 9pt; color: #101828; margin: 0;
       font-variant-ligatures: none; }  /* copied text reads 'flood', not a ligature glyph */
h1 { font-size: 16pt; margin: 0 0 2mm 0; }
h2 { font-size: 11pt; margin: 4mm 0 1.5mm 0; border-bottom: 0.4pt solid #d0d5dd; padding-bottom: 0.8mm; }
p { margin: 1mm 0; }
.page { page-break-after: always; break-after: page; }
.page:last-child { page-break-after: auto; break-after: auto; }
.meta { color: %(grey)s; font-size: 8.5pt; }
.headline { font-size: 11pt; font-weight: bold; margin: 2mm 0; }
.state { display: inline-block; white-space: nowrap; min-width: 20mm; padding: 0.4mm 2mm; border-radius: 1mm;
         color: #fff; font-weight: bold; text-transform: uppercase; font-size: 8.5pt; text-align: center; }
table { border-collapse: collapse; width: 100%%; margin: 1mm 0 2mm 0; page-break-inside: avoid; }
th, td { border: 0.4pt solid #d0d5dd; padding: 0.8mm 1.6mm; text-align: left; vertical-align: top; }
th { background: #f2f4f7; font-weight: bold; font-size: 8.5pt; }
td:first-child, td.num, td.date { white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
img.chart { width: 100%%; height: auto; display: block; margin: 1mm 0; }
.note { color: %(grey)s; font-size: 8.5pt; }
.two { display: flex; gap: 5mm; } .two > div { flex: 1; }
"""


def e(text: object) -> str:
    """Escape any text that came from the operator or the data (names, units, levels, reasons)."""
    return html.escape(str(text), quote=True)


def state_badge(state: str) -> str:
    """A coloured badge for an alert state."""
    colour = STATE_COLOURS.get(state, GREY)
    return f'<span class="state" style="background:{colour}">{e(state)}</span>'


def table_html(table: Table, numeric_from: int = 99) -> str:
    """A Table as HTML; columns from `numeric_from` on are right-aligned numbers."""
    head = "".join(
        f'<th class="num">{e(c)}</th>' if i >= numeric_from else f"<th>{e(c)}</th>" for i, c in enumerate(table.columns)
    )
    body = "".join(
        "<tr>"
        + "".join(f'<td class="num">{e(v)}</td>' if i >= numeric_from else f"<td>{e(v)}</td>" for i, v in enumerate(r))
        + "</tr>"
        for r in table.rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _alerts_html(sheet: ReservoirSheet) -> str:
    """The alert per side: badge and the rule's sentence."""
    rows = "".join(
        f"<tr><td>{e(a.side)}</td><td>{state_badge(a.state)}</td><td>{e(a.reason)}</td></tr>" for a in sheet.alerts
    )
    return f"<table><thead><tr><th>side</th><th>state</th><th>why</th></tr></thead><tbody>{rows}</tbody></table>"


def _chart_html(sheet: ReservoirSheet) -> str:
    """The forecast chart as an embedded SVG image, or the reason it is missing."""
    if sheet.chart_svg is None:
        return f'<p class="note">Chart not included: {e(sheet.chart_note or "no chart was drawn")}</p>'
    data = base64.b64encode(sheet.chart_svg).decode("ascii")
    alt = e(f"{sheet.reservoir} {sheet.target} forecast chart with bands and operating levels")
    return f'<img class="chart" alt="{alt}" src="data:image/svg+xml;base64,{data}">'


def _provenance_html(p: Provenance) -> str:
    """Provenance as a two-column key/value table."""
    rows = (
        ("forecast from", f"readings up to {p.forecast_from}"),
        ("data through", p.data_through),
        ("model", f"{p.model}, version {p.version}" + (f" (trained {p.trained})" if p.trained else "")),
        ("recent band coverage", p.coverage),
        ("skill vs persistence", p.skill),
    )
    body = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
    return f"<table><tbody>{body}</tbody></table>"


def days_table(sheet: ReservoirSheet) -> Table | None:
    """The forecast per day with, beside it, the chance of being beyond each level (one table: one page)."""
    fc, ex = sheet.forecast, sheet.exceedance
    if fc is None:
        return ex
    if ex is None or len(ex.rows) != len(fc.rows):
        return fc
    rows = tuple((*f, *x[2:]) for f, x in zip(fc.rows, ex.rows, strict=True))
    return Table((*fc.columns, *(f"P {c}" for c in ex.columns[2:])), rows)


def _days_html(sheet: ReservoirSheet) -> str:
    """The per-day section: heading, table and what the percentages mean."""
    table = days_table(sheet)
    if table is None:
        return ""
    if sheet.exceedance is None:
        note = "No chance-of-crossing columns: no operating levels are set on this variable, or the model has no bands."
    else:
        note = (
            "P: the chance, in % of the calibrated forecast spread, of being beyond each operating level "
            "(above a flood line, below a drought line) on that day."
        )
    return f'<h2>Forecast per day</h2>{table_html(table, numeric_from=2)}<p class="note">{e(note)}</p>'


def sheet_html(sheet: ReservoirSheet, made_at: str, footer: Sequence[str] = ()) -> str:
    """One reservoir's page."""
    target = f"{sheet.target} ({sheet.unit})" if sheet.unit else sheet.target
    parts = [f'<section class="page"><h1>{e(sheet.reservoir)}</h1>']
    if sheet.status != "forecast":
        parts.append(f'<p class="meta">Bulletin made {e(made_at)}</p>')
        parts.append(f'<p class="headline">{state_badge(sheet.status)} No forecast in this bulletin.</p>')
        parts.append(f"<p>{e(sheet.message)}</p>")
        parts += [f'<p class="note">{e(n)}</p>' for n in footer]
        parts.append("</section>")
        return "".join(parts)
    prov = sheet.provenance
    issued = f", forecast from readings up to {prov.forecast_from}" if prov else ""
    parts.append(f'<p class="meta">{e(target)} forecast{e(issued)}; bulletin made {e(made_at)}</p>')
    parts.append(f'<p class="headline">{state_badge(sheet.worst)} {e(sheet.headline)}</p>')
    parts.append(_chart_html(sheet))
    parts.append("<h2>Alerts per side</h2>" + _alerts_html(sheet))
    parts.append(_days_html(sheet))
    if sheet.scenarios:
        parts.append("<h2>Release scenarios</h2>" + table_html(scenario_table(sheet.scenarios, sheet.unit), 2))
    if prov is not None:
        parts.append("<h2>Provenance</h2>" + _provenance_html(prov))
    parts += [f'<p class="note">{e(n)}</p>' for n in (*sheet.notes, *footer)]
    parts.append("</section>")
    return "".join(parts)


def summary_html(bulletin: Bulletin) -> str:
    """The first page with several reservoirs: each one's state per side and headline."""
    rows = []
    for s in sorted(bulletin.sheets, key=lambda sheet: (-SEVERITY_RANK.get(sheet.worst, 0), sheet.reservoir.lower())):
        sides = {a.side: a.state for a in s.alerts}
        through = s.provenance.data_through if s.provenance else "-"
        rows.append(
            f"<tr><td>{e(s.reservoir)}</td><td>{state_badge(s.worst)}</td>"
            f"<td>{e(sides.get('flood', '-'))}</td><td>{e(sides.get('drought', '-'))}</td>"
            f'<td>{e(s.headline or s.message)}</td><td class="date">{e(through)}</td></tr>'
        )
    head = (
        "<tr><th>reservoir</th><th>state</th><th>flood</th><th>drought</th><th>in words</th><th>data through</th></tr>"
    )
    return (
        f'<section class="page"><h1>{e(bulletin.title)}: summary</h1>'
        f'<p class="meta">{len(bulletin.sheets)} reservoirs; bulletin made {e(bulletin.made_at)}. '
        "Most severe first; each reservoir has its own page after this one.</p>"
        f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
        '<p class="note">State: the most severe alert raised on either side (flood = above its lines, drought = '
        "below them); an alert is raised when crossing a level within the forecast horizon is at least as likely as "
        "the reservoir's trigger probability.</p></section>"
    )


def bulletin_html(bulletin: Bulletin) -> str:
    """The whole bulletin as one self-contained HTML document (charts embedded), ready to print or send."""
    if bulletin.paper not in PAPERS:
        raise ExportError(f"Unknown paper '{bulletin.paper}'; choose one of {', '.join(PAPERS)}.")
    css = CSS % {"paper": PAPERS[bulletin.paper], "grey": GREY}
    names = ", ".join(s.reservoir for s in bulletin.sheets)
    body = (summary_html(bulletin) if bulletin.summary else "") + "".join(
        sheet_html(s, bulletin.made_at, bulletin.footer) for s in bulletin.sheets
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{e(bulletin.title)} - {e(names)} - {e(bulletin.made_at)}</title>\n"
        f"<style>{css}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


# ---------------------------------------------------------------- PDF through Chromium


def html_to_pdf(document: str, *, timeout: float = PRINT_TIMEOUT_S) -> bytes:
    """Print an HTML document to PDF with headless Chromium (selectable text, embedded fonts, CSS page size)."""
    browser = find_chromium()
    with tempfile.TemporaryDirectory(prefix="sentinel-bulletin-") as tmp:
        page, out = Path(tmp) / "bulletin.html", Path(tmp) / "bulletin.pdf"
        page.write_text(document, encoding="utf-8")
        command = [
            browser,
            "--headless",
            "--no-sandbox",  # Chromium refuses to start as root in a container without it
            "--disable-gpu",
            "--disable-extensions",
            "--no-first-run",
            f"--user-data-dir={Path(tmp) / 'profile'}",  # its own profile: concurrent prints do not share a lock
            f"--print-to-pdf={out}",
            "--no-pdf-header-footer",
            page.as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, check=False, env=_quiet_env())
        except subprocess.TimeoutExpired as exc:
            raise ExportError(f"Chromium did not print the bulletin within {timeout:.0f} s; try again.") from exc
        except OSError as exc:
            raise ExportError(f"Could not run Chromium at {browser} ({exc}).") from exc
        if not out.is_file() or out.stat().st_size == 0:
            tail = (done.stderr or b"").decode("utf-8", "replace").strip().splitlines()[-3:]
            raise ExportError(f"Chromium wrote no PDF (exit {done.returncode}): {' / '.join(tail) or 'no message'}.")
        return out.read_bytes()


def _quiet_env() -> dict[str, str]:
    """Chromium's environment: ours, without a display it might try to reach."""
    env = dict(os.environ)
    env.pop("DISPLAY", None)
    return env


def write_bulletin(bulletin: Bulletin, pdf: Path | None, html_path: Path | None = None) -> dict[str, str]:
    """Write the PDF and/or the HTML atomically; returns {"pdf": path, "html": path} for what was written."""
    document = bulletin_html(bulletin)
    written: dict[str, str] = {}
    if html_path is not None:
        write_atomic(Path(html_path), document)
        written["html"] = str(html_path)
    if pdf is not None:
        write_atomic(Path(pdf), html_to_pdf(document))
        written["pdf"] = str(pdf)
    return written
