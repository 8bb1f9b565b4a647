"""Forecast exports shared by the Forecast page and `python -m core export`: same chart, same table."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from core import charts
from core.data.levels import OperatingLevel
from core.display import entered
from core.export import files
from core.forecast import risk
from core.forecast.issue import Forecast
from core.model.uncertainty import BANDS

HISTORY_DAYS = 90  # observed days before the issue date that the chart shows


def history_span(forecast: Forecast, days: int = HISTORY_DAYS) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of the observed series drawn with a forecast: `days` before the issue date to its horizon."""
    issued = pd.Timestamp(forecast.issued)
    return issued - pd.Timedelta(days=days), issued + pd.Timedelta(days=len(forecast.points))


def history_window(values: pd.Series, forecast: Forecast, days: int = HISTORY_DAYS) -> pd.Series:
    """The readings the chart shows beside a forecast, cut from any longer series, so page and CLI draw the same."""
    start, end = history_span(forecast, days)
    index = pd.DatetimeIndex(values.index)
    return values.loc[(index >= start) & (index <= end)]


def band_headers(forecast: Forecast, band: int) -> tuple[str, str]:
    """Column names of a band's lower and upper bounds, spelled once for the table, the CSV and the page."""
    unit = f" ({forecast.unit})" if forecast.unit else ""
    return f"lower {band}%{unit}", f"upper {band}%{unit}"


def risk_columns(forecast: Forecast) -> dict[str, list[Any]]:
    """Band bounds and exceedance probabilities as extra table columns (unit and level named in each header)."""
    cols: dict[str, list[Any]] = {}
    for band in BANDS:
        bounds = forecast.band(band)
        if bounds is None:
            break
        lower, upper = band_headers(forecast, band)
        cols[lower], cols[upper] = list(bounds[0]), list(bounds[1])
    levels = {lv["name"]: lv for lv in forecast.levels}
    for name, probs in (forecast.exceedance or {}).items():
        lv = levels.get(name, {})
        side = "above" if lv.get("side") == "flood" else "below"
        cols[f"P({side} {name} {lv.get('value', '')}{' ' + forecast.unit if forecast.unit else ''})"] = [
            round(p, 4) for p in probs
        ]
    return cols


def converted_columns(forecast: Forecast, bands: Sequence[int] = BANDS) -> dict[str, list[Any]]:
    """With a curve: the forecast in its other variable ('level (ft)', 'level lower 80% (ft)', ...), per day."""
    conv = forecast.converted
    if conv is None:
        return {}
    unit = f" ({conv.unit})" if conv.unit else ""
    cols: dict[str, list[Any]] = {f"{conv.variable}{unit}": [p.value for p in conv.points]}
    for band in bands:
        if conv.points[0].lower_50 is None:
            break
        for side in ("lower", "upper"):
            cols[f"{conv.variable} {side} {band}%{unit}"] = [getattr(p, f"{side}_{band}") for p in conv.points]
    if conv.notes:  # days beyond the curve: say why their converted value is empty
        cols[note_header(forecast)] = [conv.note(i) for i in range(len(conv.points))]
    return cols


def note_header(forecast: Forecast) -> str:
    """The column that says why a converted value is unknown ('level note')."""
    return f"{forecast.converted.variable} note" if forecast.converted is not None else "note"


BY_THEN = " by then"  # suffix of a level's cumulative column in exceedance_frame(cumulative=True)


def by_day_chance(forecast: Forecast) -> dict[str, list[float]]:
    """Per level, the chance of having been beyond it on at least one day up to each forecast day: the alert's
    rule (core.forecast.risk.within_horizon) applied to every prefix of the horizon, so its last day is the
    chance the alert compares with the trigger. Empty without samples."""
    if forecast.samples is None:
        return {}
    out = {}
    for data in forecast.levels:
        level = OperatingLevel.from_dict(data)
        crossed = np.logical_or.accumulate(risk.beyond(np.asarray(forecast.samples), level), axis=-1)
        out[level.name] = [float(p) for p in crossed.mean(axis=0)]
    return out


def exceedance_frame(forecast: Forecast, cumulative: bool = False) -> pd.DataFrame:
    """Days x levels: the chance (in %) of being beyond each level on each forecast day (empty without bands);
    with `cumulative`, each level's column is followed by '<column> by then': crossed on at least one day so far."""
    if not forecast.exceedance:
        return pd.DataFrame()
    by_day = by_day_chance(forecast) if cumulative else {}
    levels = {lv["name"]: lv for lv in forecast.levels}
    frame = pd.DataFrame(
        {
            files.DATE_COLUMN: [p.date for p in forecast.points],
            files.LEAD_COLUMN: [p.lead for p in forecast.points],
        }
    )
    for name, probs in forecast.exceedance.items():
        lv = levels.get(name, {})
        side = "above" if lv.get("side") == "flood" else "below"
        column = f"{name} ({side} {entered(lv.get('value'), forecast.unit)})"
        frame[column] = [round(100 * p, 1) for p in probs]
        if name in by_day:
            frame[column + BY_THEN] = [round(100 * p, 1) for p in by_day[name]]
    return frame


def table(forecast: Forecast) -> pd.DataFrame:
    """The forecast table with bands, exceedance probabilities and, with a curve, the converted variable."""
    frame = files.forecast_table(forecast, {**risk_columns(forecast), **converted_columns(forecast)})
    numeric = frame.select_dtypes("number").columns.drop("lead_days", errors="ignore")
    frame[numeric] = frame[numeric].round(4)  # a tenth of a millimetre is past any gauge's precision
    return frame


def header_lines(forecast: Forecast) -> list[str]:
    """Comment lines on top of the CSV: what this forecast is."""
    unit = f" {forecast.unit}" if forecast.unit else ""
    lines = [
        f"reservoir: {forecast.reservoir}",
        f"variable: {forecast.target}" + (f" ({forecast.unit})" if forecast.unit else ""),
        f"model version: {forecast.version} ({forecast.model})",
        f"issued: {forecast.issued} (last observed {_plain(forecast.last_observed['value'])}{unit})",
    ]
    lines += risk.alert_lines(forecast.alert, forecast.alerts)
    if forecast.bands_note:
        lines.append(f"note: {forecast.bands_note}")
    if forecast.converted is not None:
        c = forecast.converted
        lines.append(f"also as: {c.variable}" + (f" ({c.unit})" if c.unit else "") + f", via the {c.via}")
    return lines


def _plain(value: float) -> str:
    """A reading as an operator writes it: no scientific notation, at most 4 decimals."""
    return f"{value:.4f}".rstrip("0").rstrip(".")


def csv_text(forecast: Forecast) -> str:
    """The forecast table as spreadsheet-safe CSV."""
    return files.table_csv(table(forecast), header_lines=header_lines(forecast))


def chart(
    history: pd.Series, forecast: Forecast, levels: Sequence[OperatingLevel] = (), observed_name: str = "observed"
) -> Any:
    """The forecast chart (bands, levels, alert) exactly as the Forecast page draws it (`observed_name`: what the
    history line is, when it is not the shown variable's own readings)."""
    return charts.forecast_figure(history, forecast, levels, observed_name=observed_name)


def render(history: pd.Series, forecast: Forecast, levels: Sequence[OperatingLevel], fmt: str) -> bytes:
    """Bytes of one export format: png, svg, pdf, html or csv."""
    fmt = fmt.lower()
    if fmt not in files.EXPORT_FORMATS:
        raise ValueError(f"Unknown export format '{fmt}'. Choose one of {', '.join(files.EXPORT_FORMATS)}.")
    if fmt == "csv":
        return files.csv_bytes(csv_text(forecast))
    fig = export_chart(history, forecast, levels)
    if fmt == "html":
        name = files.safe_filename(forecast.reservoir, f"v{forecast.version}", forecast.issued, ext="html")
        notes = risk.alert_lines(forecast.alert, forecast.alerts)
        return files.figure_html(fig, title=title(forecast), filename=name, notes=notes).encode("utf-8")
    return files.figure_bytes(fig, fmt)


def title(forecast: Forecast) -> str:
    """The export's plain-text title: reservoir, variable and unit, version, issue date."""
    unit = f" ({forecast.unit})" if forecast.unit else ""
    what = f"{forecast.target}{unit} forecast"
    return f"{forecast.reservoir} — {what}, model v{forecast.version}, issued {forecast.issued}"


def alert_summary(forecast: Forecast) -> str | None:
    """One line for the exported chart: both sides when both are raised, else the raised side, else None."""
    both = risk.both_sides_words(forecast.alerts)
    if both:
        return both
    hits = risk.raised(forecast.alerts)
    return f"Alert: {hits[0].words()}" if hits else None


def export_chart(history: pd.Series, forecast: Forecast, levels: Sequence[OperatingLevel] = ()) -> Any:
    """The page's chart with the alert said under its title, so a PNG/SVG/PDF/HTML carries it like the CSV."""
    fig = chart(history, forecast, levels)
    words = alert_summary(forecast)
    if words:
        text = fig.layout.title.text or ""
        fig.update_layout(title_text=f"{text}<br><sup>{html.escape(words, quote=False)}</sup>", margin={"t": 84})
    return fig


def filename(forecast: Forecast, fmt: str) -> str:
    """Download name: reservoir, version and issue date, ASCII only."""
    return files.safe_filename(forecast.reservoir, f"v{forecast.version}", forecast.issued, ext=fmt)
