"""Forecast page: the next 7 days of a reservoir from a trained model, hindcasts, and the chart/table exports.

Thin: widgets -> core.app.pipeline.forecast_reservoir -> core.export.report (the same chart, table and files as
`python -m core export`) -> render. The page body runs only under st.navigation.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace
from typing import Any

import pandas as pd
import streamlit as st

from core import charts, display
from core.app.curves import stored_curve
from core.app.pipeline import band_coverage, forecast_levels, forecast_reservoir
from core.app.summary import freshness, version_skill
from core.data.curves import Curve
from core.data.levels import OperatingLevel
from core.data.variables import canonical_name
from core.export import files, report
from core.forecast.convert import express, history_as, levels_on
from core.forecast.coverage import RecentCoverage
from core.forecast.issue import Forecast, ForecastError
from core.model.evaluate import mae
from core.store.workspace import ModelVersion
from pages import common as ui
from pages import forecast_risk, forecast_scenarios
from pages.bulletin_button import bulletin_button

K = "forecast_"  # widget key prefix: stable keys that tests set by name
IMAGE_FORMATS = ("png", "svg", "pdf")
TABLE_BANDS = (80,)  # the page shows one band to stay readable; the CSV carries all of them
MIME = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "html": "text/html",
    "csv": "text/csv",
}
SKILL_HELP = (
    "Skill compares the model's errors on its test period with assuming 'tomorrow = today': MAE is the average "
    "miss, RMSE weighs large misses more. Above 0% the model is better, at or below 0% it is not."
)
CAUTION = (
    "This model does not beat 'tomorrow = today' on its test period; treat the forecast with caution. "
    "Run **Compare models** on the Train page: when no model beats it there either, this reservoir's level is "
    "driven by something its readings do not show (gate operations, releases), so activate the *Persistence* "
    "version: its line is today's reading and its bands still show how far the level has moved in similar weeks."
)


# ----------------------------------------------------------------------------- pure helpers (tested directly)


def screen_table(forecast: Forecast) -> pd.DataFrame:
    """The exported table (core.export.report.table) cut to fit the screen: the forecast columns and the 80% band."""
    frame = report.table(forecast)
    risk = {**report.risk_columns(forecast), **report.converted_columns(forecast)}
    shown = {c for b in TABLE_BANDS for c in report.band_headers(forecast, b)}
    shown |= set(report.converted_columns(forecast, TABLE_BANDS))
    return frame[[c for c in frame.columns if c not in risk or c in shown]]


def show_as(
    forecast: Forecast,
    history: pd.Series,
    levels: list[OperatingLevel],
    curve: Curve | None,
    variable: str,
    stored: pd.Series | None = None,
) -> tuple[Forecast, pd.Series, list[OperatingLevel], str]:
    """The forecast, readings and levels told in `variable`, and what the readings line is called.

    As issued, or through the curve in its other variable. The readings drawn are the shown variable's own
    (`stored`, when the reservoir records it): only without them is the issued variable's history converted, and
    the line says so ('observed level as storage, via the curve').
    """
    view = express(forecast, curve) if curve is not None and variable != forecast.target else None
    if view is None or curve is None:
        return forecast, history, levels, "observed"
    converted_levels = levels_on(levels, view.target, curve)
    view = replace(view, levels=tuple(lv.to_dict() for lv in converted_levels))
    if stored is not None and stored.notna().any():
        return view, report.history_window(stored, view), converted_levels, "observed"
    name = f"observed {forecast.target} as {view.target} (via the curve)"
    return view, history_as(history, forecast.target, curve), converted_levels, name


def _stored_view_readings(reservoir: str, variable: str) -> pd.Series | None:
    """The reservoir's own readings of the variable a view shows, when it records that variable."""
    names = [v for v in ui.workspace().reservoir(reservoir).variable_names if canonical_name(v) == variable]
    return ui.readings(reservoir, (names[0],))[names[0]] if names else None


def _pick_view(forecast: Forecast) -> str:
    """With a curve: a toggle between the forecast's own variable and the converted one (elevation for storage)."""
    if forecast.converted is None:
        return forecast.target
    options = [forecast.target, forecast.converted.variable]
    if st.session_state.get(f"{K}show_as") not in options:
        st.session_state[f"{K}show_as"] = forecast.target
    return st.radio(
        "Show the forecast as",
        options,
        key=f"{K}show_as",
        horizontal=True,
        help=f"This reservoir has a storage-elevation curve: the {forecast.target} forecast, its bands and the "
        f"operating levels can be read as {forecast.converted.variable} too (each band converted on its own).",
    )


def skill_label(record: ModelVersion) -> str:
    """A version's test skill on MAE and RMSE in a few characters, for the version picker."""
    return version_skill(record).short()


# ----------------------------------------------------------------------------- cached data


@st.cache_data(show_spinner=False, max_entries=64)
def _forecast(
    root: str, reservoir: str, version: int, sha256: str, as_of: str | None, stamp: str, risk_key: str
) -> Forecast:
    """One forecast per reservoir/version/as-of/data state; root, sha, stamp and risk_key (levels + alert
    trigger, which the alert depends on) only key the cache."""
    loaded = ui.loaded_model(reservoir, version)
    return forecast_reservoir(ui.workspace(), reservoir, version, as_of=as_of, loaded=loaded)


@st.cache_data(show_spinner=False, max_entries=32)
def _band_coverage(
    root: str, reservoir: str, version: int, sha256: str, stamp: str, issued: str, _forecast: Forecast
) -> RecentCoverage | None:
    """The issued bands' record over the 90 days up to the issue date; root, sha, stamp and issued key the cache."""
    return band_coverage(ui.workspace(), _forecast, loaded=ui.loaded_model(reservoir, version))


@st.cache_data(show_spinner=False, max_entries=32)
def _export_file(forecast: Forecast, history: pd.Series, levels: list[OperatingLevel], fmt: str) -> bytes:
    """The bytes `python -m core export` writes; keyed by the forecast, the readings and levels drawn, the format."""
    return report.render(history, forecast, levels, fmt)


# ----------------------------------------------------------------------------- page sections


def _to_latest(last: dt.date) -> None:
    """Button callback: back from a hindcast to the forecast from the latest readings (the date's default)."""
    st.session_state[f"{K}as_of"] = last


def _pick_as_of(first: dt.date, last: dt.date) -> dt.date:
    """Date picker for hindcasts, bounded by the stored readings and bound to the address (?forecast_as_of=DAY):
    its default is the latest day, left out of the address, so a bookmark of the latest forecast stays the latest
    when new readings arrive, and a bookmarked hindcast opens that day again."""
    as_of = st.date_input(
        "Forecast as of",
        value=last,
        min_value=first,
        max_value=last,
        key=f"{K}as_of",
        bind="query-params",
        format="YYYY-MM-DD",
        help="Leave on the latest day for the real forecast; pick an earlier day to see what the model "
        "would have said then, next to what actually happened (a hindcast).",
    )
    if as_of < last:
        st.button(
            "Back to the latest forecast",
            key=f"{K}latest",
            on_click=_to_latest,
            args=(last,),
            icon=":material/update:",
            help=f"Forecast from the latest stored readings ({last.isoformat()}).",
        )
    return as_of


def _metrics_row(forecast: Forecast, record: ModelVersion) -> None:
    """Last reading with its age, the last forecast day with its change, and the model version with its skill:
    short labels, the unit on the value, compact numbers (the full ones in the help), wrapping on narrow pages."""
    unit = forecast.unit
    last = forecast.last_observed
    end = forecast.points[-1]
    change = end.value - float(last["value"])
    age = freshness(last["date"], end.date)
    skill = version_skill(record)
    ui.metric_row(
        [
            {
                "label": f"{forecast.target.capitalize()} on {last['date']}",
                "value": display.compact(last["value"], unit),
                "delta": f"last reading, {age.age}",
                "delta_color": "red" if age.stale else "gray",
                "delta_arrow": "off",
                "help": f"{display.number(last['value'], unit)}: the reading the forecast starts from (the issue "
                f"date), {age.age}.",
            },
            {
                "label": f"Day {end.lead}: {end.date}",
                "value": display.compact(end.value, unit),
                "delta": f"{display.signed_change(change, unit, short=True)} vs last reading",
                "delta_color": "off",
                "help": f"{display.number(end.value, unit)}: the model's value for the last forecast day, "
                f"{display.signed_change(change, unit)} from the last reading.",
            },
            {
                "label": "Model" + (" (active)" if record.active else " (not active)"),
                "value": f"version {forecast.version}",
                "delta": skill.short(),
                "delta_color": skill.colour(),
                "delta_arrow": "off",
                "help": SKILL_HELP,
            },
        ],
        border=True,
        key=f"{K}metrics",
    )
    if record.meta.get("cold_start"):
        st.info(ui.served_words(forecast.reservoir, record), icon=":material/hub:")
        return
    if skill.mae is None or skill.mae > 0:
        st.caption(f"{skill.sentence()} {ui.served_words(forecast.reservoir, record)}")
    else:
        st.warning(CAUTION, icon=":material/warning:")


def _freshness_note(forecast: Forecast) -> None:
    """A forecast from a reading days or years old says so before anything else (a hindcast says it itself)."""
    age = freshness(forecast.last_observed["date"], forecast.points[-1].date)
    if age.past:
        st.warning(f"**{age.title()}**, of {age.last_reading}. {age.meaning()}", icon=":material/history:")
    elif age.stale:
        st.info(age.words(), icon=":material/schedule:")


def _hindcast_note(forecast: Forecast) -> None:
    """How the hindcast did against what happened, in the forecast's unit."""
    pairs = [(p.value, p.observed) for p in forecast.points if p.observed is not None]
    if not pairs:
        st.caption("No readings are stored for the forecast days yet, so there is nothing to compare with.")
        return
    sim = [v for v, _ in pairs]
    obs = [o for _, o in pairs]
    last = float(forecast.last_observed["value"])
    model_err = mae(obs, sim)
    persistence_err = mae(obs, [last] * len(obs))
    st.info(
        f"Hindcast issued as of {forecast.issued}: over the {len(pairs)} forecast day(s) with readings the "
        f"model missed by {display.number(model_err, forecast.unit)} on average; assuming 'tomorrow = today' missed by "
        f"{display.number(persistence_err, forecast.unit)}.",
        icon=":material/history:",
    )


def _table(forecast: Forecast) -> None:
    """The forecast days as a table (ISO dates, lead day, value with unit, observed for hindcasts, 80% band)."""
    frame = screen_table(forecast)
    unit = f" ({forecast.unit})" if forecast.unit else ""
    short = {  # the export's column names are long; on screen the headers must fit beside each other
        f"{forecast.target}{unit}": (f"Forecast{unit}", f"The model's {forecast.target} for the day."),
        f"observed {forecast.target}{unit}": (f"Observed{unit}", "What was actually measured that day."),
    }
    for b in TABLE_BANDS:
        lower, upper = report.band_headers(forecast, b)
        short[lower] = (f"{b}% low{unit}", f"Lower end of the {b}% band.")
        short[upper] = (f"{b}% high{unit}", f"Upper end of the {b}% band.")
    config: dict[str, Any] = {
        files.DATE_COLUMN: st.column_config.TextColumn("Date", help="The forecast day (YYYY-MM-DD)."),
        files.LEAD_COLUMN: st.column_config.NumberColumn("Lead", help="Days after the issue date.", width="small"),
    }
    notes = [col for col in frame.columns if col == report.note_header(forecast)]
    for col in notes:  # days beyond the curve: why the converted value is empty
        config[col] = st.column_config.TextColumn(col, help="Why the converted value is unknown on that day.")
    values = [col for col in frame.columns if col not in config]
    fmt = display.printf_format(frame[values].to_numpy().ravel())  # forecast, observed and bands share one format
    for col in values:
        label, text = short.get(col, (col, None))
        config[col] = st.column_config.NumberColumn(label, help=text, format=fmt)
    ui.show_table(frame, column_config=config)


def _prepare(wanted: tuple[Any, ...]) -> None:
    """Button callback: remember which forecast the image files were asked for."""
    st.session_state[f"{K}prepared"] = wanted


def _download(col: Any, forecast: Forecast, fmt: str, data: bytes, label: str, icon: str, text: str) -> None:
    """One download button; file name and type as `python -m core export` gives them."""
    col.download_button(
        label,
        data=data,
        file_name=report.filename(forecast, fmt),
        mime=MIME[fmt],
        key=f"{K}dl_{fmt}",
        on_click="ignore",
        icon=icon,
        width="stretch",
        help=text,
    )


def _exports(forecast: Forecast, history: pd.Series, levels: list[OperatingLevel]) -> None:
    """Download buttons: HTML and CSV at once; PNG/SVG/PDF built on request (kaleido takes a few seconds)."""
    st.subheader("Download")
    html_col, csv_col, image_col = st.columns(3)
    at_once = {
        "html": (
            html_col,
            "Interactive chart (HTML)",
            ":material/code:",
            "The zoomable chart as one file that opens in any browser, also without internet.",
        ),
        "csv": (
            csv_col,
            "Forecast table (CSV)",
            ":material/table:",
            "The forecast days with all bands and the chance of crossing each level, for a spreadsheet; the first "
            "lines say reservoir, variable and unit, model version and issue date.",
        ),
    }
    for fmt, (col, label, icon, text) in at_once.items():
        try:
            _download(col, forecast, fmt, _export_file(forecast, history, levels, fmt), label, icon, text)
        except ValueError as exc:
            ui.show_error(exc, col)

    wanted = (forecast.reservoir, forecast.version, forecast.issued, ui.data_stamp(forecast.reservoir))
    if st.session_state.get(f"{K}prepared") != wanted:
        image_col.button(
            "Prepare PNG, SVG and PDF",
            key=f"{K}prepare",
            on_click=_prepare,
            args=(wanted,),
            icon=":material/image:",
            width="stretch",
            help="Draws the chart as report-ready image files on the server; this takes a few seconds.",
        )
        image_col.caption("Image files are made on request: drawing them takes a few seconds.")
        return
    images: dict[str, bytes] = {}
    with image_col, st.spinner("Drawing the chart as PNG, SVG and PDF..."):
        try:
            for fmt in IMAGE_FORMATS:
                images[fmt] = _export_file(forecast, history, levels, fmt)
        except files.ExportError as exc:  # no Chromium, or it failed: the message says what to install
            image_col.error(str(exc), icon=":material/error:")
            image_col.caption("The HTML chart and the CSV table still work without the image export.")
            return
        except ValueError as exc:
            ui.show_error(exc, image_col)
            return
    image_col.caption("Report-ready images of the chart above (1200 x 600, double resolution):")
    helps = {
        "png": "A picture for e-mails and slides.",
        "svg": "A sharp, scalable drawing for reports and editing.",
        "pdf": "A one-page document for printing or attaching.",
    }
    for col, fmt in zip(st.columns(3), IMAGE_FORMATS, strict=True):
        _download(col, forecast, fmt, images[fmt], f"Chart as {fmt.upper()}", ":material/download:", helps[fmt])


def _coverage_words(record: ModelVersion, band: int = 80) -> str:
    """How often the band held the truth on the test period, when the version measured it."""
    cov = (record.metrics.get("coverage") or {}).get(str(band)) or {}
    mean = cov.get("mean")
    if mean is None or not math.isfinite(float(mean)):
        return ""
    return f" On the test period the {band}% band held the actual value {float(mean):.0%} of the time."


def _conversion_words(view: Forecast, issued: Forecast, observed_name: str) -> str:
    """The bullet that says a view was converted through the curve, and what the observed line is."""
    if view.target == issued.target or issued.converted is None:
        return ""
    drawn = (
        f"the recorded {view.target} readings"
        if observed_name == "observed"
        else f"the recorded {issued.target} converted through the curve (no {view.target} readings are stored)"
    )
    outside = sum(1 for n in issued.converted.notes if n)
    edge = (
        f" {outside} of the days reach beyond the curve's table: their {view.target} is unknown there (the hover "
        "and the table say which edge); the curve is never extrapolated."
        if outside
        else ""
    )
    return (
        f"- **Shown as {ui.md_escape(view.target)}**: the model forecasts {ui.md_escape(issued.target)}; each day "
        f"and each band end is converted through the reservoir's {ui.md_escape(issued.converted.via)}. The "
        f"observed line is {ui.md_escape(drawn)}.{edge}\n"
    )


def _about(forecast: Forecast, record: ModelVersion, issued: Forecast | None = None, observed_name: str = "") -> None:
    """What the forecast is and is not, so nobody reads more into it than it holds (`issued`: the forecast as
    the model made it, when `forecast` is that one told in the curve's other variable)."""
    issued = issued or forecast
    cfg = record.config
    n_steps = cfg.get("n_steps")
    inputs = ui.md_escape(", ".join([issued.target, *(cfg.get("features") or [])]))
    if forecast.band(80) is not None:
        bands = (
            "- **The shaded bands** show the range the value should stay in 50%, 80% and 95% of the time, "
            "judged from the model's errors on days it did not train on; they widen with each day ahead."
            + _coverage_words(record)
            + (f" {ui.md_escape(forecast.bands_note)}" if forecast.bands_note else "")
            + "\n"
        )
    else:
        bands = (
            "- **No bands**: this version was saved without the error record that uncertainty bands need, so "
            "the line has no range around it. Retrain it on the Train page to get bands and alerts.\n"
        )
    converted = forecast.target != issued.target
    what = (
        f"{ui.md_escape(forecast.target)} (its {ui.md_escape(issued.target)} forecast, converted)"
        if converted
        else ui.md_escape(forecast.target)
    )
    st.subheader("What this forecast is")
    st.markdown(
        f"- **The line** is the model's single best estimate of the daily {what} for "
        f"the {len(forecast.points)} days after {forecast.issued}, worked out from the "
        f"{n_steps or 'recent'} days of readings ({inputs}) up to that day. It is not a guarantee.\n"
        + _conversion_words(forecast, issued, observed_name)
        + bands
        + "- **It does not know** about rain, releases or gate operations after the issue date; it only "
        "sees the readings stored so far.\n"
        "- **Check it**: pick an earlier *as of* date to see past forecasts next to what actually happened."
    )


def _recent_coverage(forecast: Forecast, record: ModelVersion) -> None:
    """How often the 50/80/95% bands issued over the last 90 days held what happened (bands' track record)."""
    if forecast.band(80) is None:
        return
    root, stamp = str(ui.workspace().root), ui.data_stamp(forecast.reservoir)
    try:
        recent = _band_coverage(
            root, forecast.reservoir, forecast.version, record.sha256, stamp, forecast.issued, forecast
        )
    except Exception as exc:  # noqa: BLE001 - a missing record must not hide the forecast above it
        ui.show_error(exc)
        return
    st.subheader("How the bands have held lately")
    if recent is None or recent.outcomes == 0:
        st.caption("No reading of a forecast day in the last 90 days is stored yet, so the bands have no record.")
        return
    st.caption(
        f"Of the {recent.outcomes} forecast days (issue day x lead day) whose reading came in from {recent.start} "
        f"to {recent.end}, the share that fell inside the band this version issued on its own day; a well-calibrated "
        "band holds about its promise (the black tick), amber bars are more than 5 points off."
    )
    name = files.safe_filename(forecast.reservoir, f"v{forecast.version}", forecast.issued, "band-coverage", ext="")
    ui.show_chart(charts.band_coverage_figure(recent), name, f"{K}band_coverage")


def _attention(forecast: Forecast) -> None:
    """For attention nets: how much each input day weighed in this forecast (nothing for other models)."""
    if not forecast.attention:
        return
    days = len(forecast.attention.get("dates") or [])
    st.subheader("Which past days mattered")
    st.caption(
        f"This model reads the {days} days up to {forecast.issued} and weighs some more than others: each bar is "
        "one day's share of its attention. Days above the dashed line counted more than an equal share; it shows "
        "what the model looked at, not what caused the change."
    )
    name = files.safe_filename(forecast.reservoir, f"v{forecast.version}", forecast.issued, "attention", ext="")
    ui.show_chart(charts.attention_figure(forecast), name, f"{K}attention")


def render() -> None:
    """Page body."""
    reservoir = ui.reservoir_page(
        "Forecast",
        "The expected water readings for the next 7 days, from the trained model, next to the last 90 days "
        "of readings and the operating levels. Pick an earlier date to check how the model would have done.",
    )
    if reservoir is None:
        return
    ws = ui.workspace()
    models = ws.versions(reservoir)
    if not models and ui.first_model_notice(reservoir):  # first start: the sample's model is training
        return
    if not models:
        ui.point_to(
            "train",
            f"There is no trained model for {ui.md_escape(reservoir)} yet, so there is nothing to forecast with. "
            "Train one on the Train page (a few minutes); it appears here when it is done.",
            icon=":material/model_training:",
        )
        return
    info = ws.reservoir(reservoir)
    if not info.first or not info.last:
        ui.point_to("data", "This reservoir has no readings yet. Upload some on the Data page.", icon=":material/info:")
        return
    first, last = dt.date.fromisoformat(info.first), dt.date.fromisoformat(info.last)

    if ui.forget_on_switch(K, reservoir, ("version", "prepared")):  # another reservoir: its active model, today
        st.session_state[f"{K}as_of"] = last
    version_col, pick_date = st.columns(2)
    with version_col:
        record = ui.pick_version(
            models,
            f"{K}version",
            skill_label,
            help="Which trained model issues the forecast; 'Active model' follows the version chosen on the "
            "Models page. Skill: how much smaller its test errors were than assuming 'tomorrow = today'.",
        )
    with pick_date:
        as_of = _pick_as_of(first, last)
    version = record.version
    hindcast = as_of < last
    levels = ws.levels(reservoir)
    try:
        with st.spinner(f"Issuing the forecast with version {version}..."):
            forecast = _forecast(
                str(ws.root),
                reservoir,
                version,
                record.sha256,
                as_of.isoformat() if hindcast else None,
                ui.data_stamp(reservoir),
                ui.risk_key(reservoir),
            )
    except ForecastError as exc:
        ui.show_error(exc, pick_date)
        n_steps = record.config.get("n_steps")
        pick_date.caption(
            f"The model needs {n_steps or 'several'} complete days of readings up to the forecast date. "
            "Pick another as-of date (usually an earlier one, before the missing days), or upload the "
            "missing days on the Data page."
        )
        ui.point_to("data")
        return
    except Exception as exc:  # noqa: BLE001 - the page must never show a traceback
        ui.show_error(exc)
        return
    if record.active and not hindcast:
        ui.record_alert(forecast)  # the reservoir's alert now: the Alerts page and the log say the same
    if not hindcast and forecast.issued != last.isoformat():
        pick_date.caption(
            f"Issued as of {forecast.issued}: the last day with all the readings the model needs "
            f"(the stored readings run to {last.isoformat()})."
        )

    values = ui.readings(reservoir, (forecast.target,))[forecast.target]
    history = report.history_window(values, forecast)
    levels = forecast_levels(ws, reservoir, forecast.target)
    issued, issued_history, issued_levels = forecast, history, levels
    shown = _pick_view(forecast)
    stored = _stored_view_readings(reservoir, shown) if shown != forecast.target else None
    forecast, history, levels, observed_name = show_as(
        forecast, history, levels, stored_curve(ws, reservoir), shown, stored
    )

    _metrics_row(forecast, record)
    if not hindcast:
        _freshness_note(issued)
    ui.alert_banner(issued, f"(as issued on {forecast.issued}) " if hindcast else "")
    if hindcast:
        _hindcast_note(forecast)
    chart = report.chart(history, forecast, levels, observed_name)
    ui.show_chart(chart, report.filename(forecast, ""), f"{K}chart")
    st.subheader("Forecast days")
    _table(forecast)  # the page's full width: beside the notes its converted-variable columns were cut off
    _about(forecast, record, issued, observed_name)
    forecast_risk.exceedance_section(issued)
    forecast_scenarios.scenario_section(issued, hindcast)
    _recent_coverage(issued, record)
    _attention(issued)
    _exports(issued, issued_history, issued_levels)  # the files carry both variables, in the issued one first
    st.caption("The bulletin holds the latest forecast of the active model, whatever version or date is picked above.")
    bulletin_button([issued.reservoir], f"{K}bulletin")


if __name__ == "__main__":  # run by st.navigation (module name __main__), not on import by tests
    ui.run_page(render)
