"""What goes into the forecast bulletin, per reservoir: the forecast, alerts, exceedance, scenarios and provenance.

The CLI `bulletin` command and the Forecast/Overview download buttons call `build_bulletin` then
core.export.bulletin (`write_bulletin` / `html_to_pdf`); a reservoir without a model, or whose forecast cannot
be issued, gets a page saying so and what to do, never an exception that loses the other reservoirs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from core.app.judgement import record_judgement
from core.app.pipeline import band_coverage, forecast_history, forecast_levels, forecast_reservoir
from core.app.summary import age_words, days_since, freshness, version_skill
from core.app.whatif import what_if
from core.display import chance, number, spread_decimals
from core.export import files, report
from core.export.bulletin import (
    Bulletin,
    BulletinScenario,
    Provenance,
    ReservoirSheet,
    SideWords,
    Table,
    bulletin_html,
    html_to_pdf,
)
from core.forecast import risk
from core.forecast.coverage import RecentCoverage
from core.forecast.issue import Forecast
from core.store.workspace import StoreError, Workspace

if TYPE_CHECKING:
    from core.forecast.scenario import ReleasePlan, WhatIf

log = logging.getLogger(__name__)
CHART_WIDTH, CHART_HEIGHT = 1000, 400  # px of the embedded SVG: fits the printable width of A4 and Letter


def made_now() -> str:
    """The bulletin's issue time, to the minute, in UTC (operators in different zones read the same stamp)."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def coverage_words(recent: RecentCoverage | None) -> str:
    """Recent band coverage in one sentence: each band's share of outcomes inside it against its promise."""
    if recent is None:
        return "this version has no calibrated bands"
    if recent.outcomes == 0:
        return f"no outcomes observed yet in the {recent.days} days to {recent.end}"
    held = ", ".join(f"{b.band} % band held {b.share:.0%}" for b in recent.bands)
    return f"{held} of {recent.outcomes} outcomes over {recent.start} to {recent.end}"


def skill_words(record: Any) -> str:
    """Skill vs persistence on MAE and RMSE, and the sentence the Forecast page uses."""
    skill = version_skill(record)
    return (f"{skill.short()}: " if skill.mae is not None else "") + skill.sentence()


def forecast_table(fc: Forecast) -> Table:
    """Date, lead day, median and the 80/95 % bands, formatted (unit in the headers)."""
    u = f" ({fc.unit})" if fc.unit else ""
    has_bands = fc.points[0].lower_80 is not None
    columns = ("date", "lead day", f"median{u}") + ((f"80 % band{u}", f"95 % band{u}") if has_bands else ())
    d = spread_decimals(_typical_spread(fc))
    rows = []
    for p in fc.points:
        row = (p.date, str(p.lead), number(p.value, digits=d))
        if has_bands:
            row += (
                f"{number(p.lower_80, digits=d)} – {number(p.upper_80, digits=d)}",
                f"{number(p.lower_95, digits=d)} – {number(p.upper_95, digits=d)}",
            )
        rows.append(row)
    return Table(columns, tuple(rows))


def _typical_spread(fc: Forecast) -> float:
    """The median 80 % band width (or day-to-day change without bands): what the table's decimals must resolve."""
    if fc.points[0].lower_80 is not None:
        widths = sorted(p.upper_80 - p.lower_80 for p in fc.points)
    else:
        values = [fc.last_observed["value"], *(p.value for p in fc.points)]
        widths = sorted(abs(b - a) for a, b in zip(values, values[1:], strict=False))
    return float(widths[len(widths) // 2]) if widths else 0.0


def exceedance_table(fc: Forecast) -> Table | None:
    """Days x levels with the chance (%) of being beyond each level (core.export.report.exceedance_frame)."""
    frame = report.exceedance_frame(fc)
    if frame.empty:
        return None
    levels = [c for c in frame.columns if c not in (files.DATE_COLUMN, files.LEAD_COLUMN)]
    rows = tuple(
        (str(r[files.DATE_COLUMN]), str(r[files.LEAD_COLUMN]), *(chance(float(r[c])) for c in levels))
        for _, r in frame.iterrows()
    )
    return Table(("date", "lead day", *levels), rows)


def side_words(fc: Forecast) -> tuple[SideWords, ...]:
    """The alert per side in words."""
    return tuple(SideWords(a.side, a.state, a.reason) for a in (fc.alerts or {}).values())


def headline(fc: Forecast) -> str:
    """The overall alert in one sentence (both sides named when both are raised)."""
    both = risk.both_sides_words(fc.alerts)
    reason = (fc.alert or {}).get("reason", "")
    return f"{both}. {reason}" if both else reason


def chart_svg(ws: Workspace, fc: Forecast) -> tuple[bytes | None, str]:
    """The Forecast page's chart (bands, levels, zones) as SVG, or None and why (e.g. no Chromium for kaleido)."""
    history = forecast_history(ws, fc)
    levels = forecast_levels(ws, fc.reservoir, fc.target)
    try:
        fig = report.chart(history, fc, levels)
        return files.figure_bytes(fig, "svg", width=CHART_WIDTH, height=CHART_HEIGHT, scale=1), ""
    except files.ExportError as exc:
        return None, str(exc)


def data_through(ws: Workspace, reservoir: str, target: str) -> str:
    """The last day with a reading of the forecast's variable."""
    values = ws.readings(reservoir, [target])[target].dropna()
    return values.index[-1].date().isoformat() if len(values) else "-"


def no_model_sheet(name: str) -> ReservoirSheet:
    """The page of a reservoir that has no trained model yet."""
    return ReservoirSheet(
        name,
        "no model",
        message=f"{name} has no trained model yet, so no forecast is issued for it. Train one on the Train page "
        f'or with: python -m core train --reservoir "{name}"',
    )


def reservoir_sheet(
    ws: Workspace, reservoir: str, scenarios: Sequence[BulletinScenario] = (), *, chart: bool = True
) -> ReservoirSheet:
    """One reservoir's page from its active version and latest readings (or a page saying why there is none)."""
    name = ws.reservoir(reservoir).name
    record = ws.active_version(name)
    if record is None:
        return no_model_sheet(name)
    try:
        loaded = ws.load_version(name)
        fc = forecast_reservoir(ws, name, loaded=loaded)
        recent = band_coverage(ws, fc, loaded=loaded)
    except ValueError as exc:  # ForecastError, StoreError: the data or the model file cannot give a forecast now
        return ReservoirSheet(name, "no forecast", message=f"The forecast of {name} could not be issued: {exc}")
    try:
        record_judgement(ws, fc)  # the same alert as the Alerts page and the notification log (one truth)
    except ValueError as exc:  # the store refused (busy, read-only): the bulletin still goes out
        log.warning("bulletin: the alert state of %s was not recorded (%s)", name, exc)
    svg, note = chart_svg(ws, fc) if chart else (None, "left out on request")
    age = freshness(fc.issued, fc.points[-1].date)
    notes = tuple(n for n in (age.words() if age.past or age.stale else "", fc.bands_note) if n)
    through = data_through(ws, name, fc.target)
    return ReservoirSheet(
        reservoir=name,
        status="forecast",
        target=fc.target,
        unit=fc.unit,
        headline=(f"{age.title()}: " if age.past else "") + headline(fc),
        chart_svg=svg,
        chart_note=note,
        alerts=side_words(fc),
        forecast=forecast_table(fc),
        exceedance=exceedance_table(fc),
        scenarios=tuple(scenarios),
        notes=notes,
        provenance=Provenance(
            forecast_from=fc.issued,
            data_through=f"{through} ({age_words(days_since(through))})" if through != "-" else through,
            model=fc.model,
            version=fc.version,
            trained=(record.created or "")[:10] or None,
            coverage=coverage_words(recent),
            skill=skill_words(record),
        ),
    )


def scenario_rows(result: WhatIf) -> list[BulletinScenario]:
    """A what-if result as the bulletin's scenario table: plain forecast first, then each planned release."""
    rows = []
    for row in result.table():
        median = next(v for k, v in row.items() if k.endswith(" median"))
        band = row["day 80 % band"]
        alerts = ", ".join(row[k] for k in ("flood alert", "drought alert") if row[k] != "-")
        rows.append(BulletinScenario(row["scenario"], row["release"], float(median), band, alerts))
    return rows


def what_if_scenarios(
    ws: Workspace, names: Sequence[str], plans: Sequence[ReleasePlan]
) -> tuple[dict[str, list[BulletinScenario]], list[str]]:
    """The scenario tables of the reservoirs that can run `plans`, and why the others cannot (one line each)."""
    tables, skipped = {}, []
    for name in names:
        try:
            tables[name] = scenario_rows(what_if(ws, name, plans))
        except ValueError as exc:  # no release record, no model, a plan the model cannot take: said, not fatal
            skipped.append(f"{name}: no scenarios ({exc})")
    return tables, skipped


def build_bulletin(
    ws: Workspace,
    reservoirs: Sequence[str] | None = None,
    *,
    paper: str = "a4",
    scenarios: Mapping[str, Sequence[BulletinScenario]] | None = None,
    chart: bool = True,
    made_at: str | None = None,
) -> Bulletin:
    """The bulletin for some reservoirs, or (None) all of them with a summary page first."""
    everyone = reservoirs is None
    names = [r.name for r in ws.reservoirs()] if everyone else [ws.reservoir(r).name for r in reservoirs]
    if not names:
        raise StoreError("The workspace has no reservoirs; import readings first (python -m core import FILE).")
    scenarios = scenarios or {}
    sheets = tuple(reservoir_sheet(ws, n, scenarios.get(n, ()), chart=chart) for n in names)
    footer = ("Made by Reservoir Sentinel. Bands are calibrated on each model's past errors; see provenance.",)
    return Bulletin(made_at or made_now(), paper, sheets, summary=everyone, footer=footer)


def bulletin_pdf(ws: Workspace, reservoirs: Sequence[str] | None = None, *, paper: str = "a4") -> bytes:
    """The bulletin as PDF bytes (the download buttons)."""
    return html_to_pdf(bulletin_html(build_bulletin(ws, reservoirs, paper=paper)))


def bulletin_filename(reservoirs: Sequence[str] | None, made_at: str, ext: str = "pdf") -> str:
    """Download name: 'bulletin_<reservoir or all>_<date>.pdf', ASCII only."""
    who = "all" if reservoirs is None else "-".join(reservoirs)
    return files.safe_filename("bulletin", who, made_at[:10], ext=ext)
