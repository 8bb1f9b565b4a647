"""Overview page: the fleet at a glance, then one card per chosen reservoir, then the daily cycle.

A small workspace (up to SMALL_FLEET reservoirs) shows every reservoir's card as its main content; a larger one
leads with the fleet status table (pages/overview_fleet.py, rows from core.app.fleet: no forecasting on a page
load) and shows cards for the reservoirs the operator picks. The daily cycle's button, progress and history are
in pages/overview_cycle.py. Thin: card facts come from core.app.summary, forecasts from
core.app.pipeline.forecast_reservoir (cached per reservoir, model version and data stamp), figures from core.charts.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core import charts, display
from core.app.fleet import FleetRow, fleet_status
from core.app.jobs import CYCLE
from core.app.pipeline import forecast_reservoir
from core.app.serving import model_label
from core.app.summary import freshness, headline_variables, latest_trend, levels_words, version_skill
from core.forecast.issue import Forecast
from core.store.workspace import ModelVersion, ReservoirInfo, VariableInfo
from pages import common as ui
from pages.bulletin_button import bulletin_button
from pages.overview_cycle import cycle_section
from pages.overview_fleet import chosen_cards, fleet_table

K = "overview_"  # widget key prefix
CARD_WIDTH = 390  # px: two numbers side by side fit; a wide page holds two or three, a phone one
SPARK_DAYS = 30
SMALL_FLEET = 3  # up to this many reservoirs, every card is the main content (no fleet table)


@st.cache_data(show_spinner=False, max_entries=64)
def card_forecast(
    root: str, reservoir: str, version: int, sha256: str, stamp: str, risk: str = ""
) -> tuple[Forecast | None, str]:
    """The active model's latest forecast with its alert, or why there is none; cached until something changes.

    `root`, `sha256`, `stamp` and `risk` only key the cache (another workspace, a replaced model file, new
    readings, edited levels or alert trigger).
    """
    try:
        loaded = ui.loaded_model(reservoir, version)
        return forecast_reservoir(ui.workspace(), reservoir, loaded=loaded), ""
    except ValueError as exc:  # core's user-facing problems (no recent inputs, missing variable, ...)
        return None, str(exc)
    except Exception as exc:  # noqa: BLE001 - one card must not take the whole overview down
        return None, f"the forecast failed ({type(exc).__name__}: {exc})"


def _trend_delta(change: float | None, unit: str | None, days: int) -> str | None:
    """st.metric delta text, short enough for a card ('+0.42 m in 7 days', '+25.5 M m³ in 7 days')."""
    if change is None:
        return None
    return f"{display.signed_change(change, unit, short=True)} in {days} days"


def _trend_arrow(change: float | None) -> str:
    """Arrow direction for st.metric: up, down, or none for a flat week."""
    if not change:
        return "off"
    return "up" if change > 0 else "down"


def _model_lines(name: str, record: ModelVersion | None) -> bool:
    """Active version, its kind of model and its skill in words; True while its first model is training instead."""
    if record is None:
        if ui.first_model_notice(name, compact=True):
            return True
        st.caption("No model yet — train one on the Train page.")
        return False
    skill = version_skill(record)
    model = ui.md_escape(model_label(record.model or "?"))
    if record.meta.get("cold_start"):
        st.markdown(f":material/hub: {ui.md_escape(ui.served_words(name, record, short=True))}")
        return False
    text = f"Model v{record.version} · {model} ({ui.md_escape(record.target)}): {skill.words()}"
    if skill.colour() == "green":
        st.markdown(f":material/check_circle: {text}")
    else:
        st.markdown(f":material/warning: {text}")
    return False


def _sparkline(info: ReservoirInfo, variable: str, record: ModelVersion | None) -> None:
    """Last ~60 days and the active model's forecast, or the reason there is no forecast."""
    forecast: Forecast | None = None
    reason = ""
    if record is not None:
        forecast, reason = card_forecast(
            str(ui.workspace().root),
            info.name,
            record.version,
            record.sha256,
            ui.data_stamp(info.name),
            ui.risk_key(info.name),
        )
        if forecast is not None:
            variable = forecast.target
            ui.record_alert(forecast)  # the active model's latest forecast: its alert is the reservoir's
    history = ui.readings(info.name, (variable,))[variable] if variable in info.variable_names else pd.Series()
    fig = charts.sparkline_figure(history, forecast, days=SPARK_DAYS, height=90)
    ui.show_chart(fig, f"{info.name}-sparkline", f"{K}spark_{info.id}", compact=True)
    if forecast is not None:
        last = forecast.points[-1]
        age = freshness(forecast.issued, last.date)
        value = ui.md_escape(display.compact(last.value, forecast.unit))
        title = age.title() if age.past else f"Forecast issued {forecast.issued}"
        st.caption(
            f"{title}: {value} on {last.date}. Chart: last {SPARK_DAYS} days (dark) and the forecast (blue, dashed)."
        )
        if (forecast.alert or {}).get("state") != "no levels":  # the levels line below already says so
            ui.alert_banner(forecast)
    elif record is not None:
        st.caption(f":material/error: No forecast: {ui.md_escape(reason)}")


def _headline(info: ReservoirInfo, var: VariableInfo, *, forecast: bool) -> dict[str, Any] | None:
    """One headline reading as st.metric arguments: the variable as the label, the unit on the value (compact, so
    a nine-digit storage fits a card), the weekly change as the delta; the full value is in the help."""
    trend = latest_trend(ui.readings(info.name, (var.name,))[var.name])
    if trend is None:
        return None
    return {
        "label": ui.md_escape(var.name.capitalize()),
        "value": display.compact(trend.value, var.unit),
        "delta": _trend_delta(trend.change, var.unit, trend.days),
        "delta_color": "off",
        "delta_arrow": _trend_arrow(trend.change),
        "help": (
            f"{ui.md_escape(display.number(trend.value, var.unit))} on {trend.date}: the latest stored "
            f"{ui.md_escape(var.name)} reading"
            + (", the variable the active model forecasts" if forecast else "")
            + (
                f"; the change over the last {trend.days} days is below it."
                if trend.change is not None
                else f"; no reading {trend.days} days earlier to compare with."
            )
        ),
    }


def _headlines(info: ReservoirInfo, variables: list[VariableInfo], record: ModelVersion | None) -> None:
    """The headline readings side by side (wrapping on a narrow card), then how old the latest one is."""
    target = record.target if record is not None else None
    metrics = [_headline(info, var, forecast=var.name == target) for var in variables]
    shown = [m for m in metrics if m is not None]
    if shown:
        ui.metric_row(shown)
    for var, metric in zip(variables, metrics, strict=True):
        if metric is None:
            st.info(f"No {ui.md_escape(var.name)} readings yet.")
    if info.last:
        age = freshness(info.last)
        line = f"Last reading {info.last} ({age.age})"
        if age.stale:
            st.markdown(f":red[:material/schedule: {line}: the feed may have stopped.]")
        else:
            st.caption(f":material/schedule: {line}.")


def _card(info: ReservoirInfo) -> None:
    """One reservoir's card."""
    ws = ui.workspace()
    st.subheader(ui.md_escape(info.name), anchor=False)
    record = ws.active_version(info.name)
    headline = headline_variables(info, record.target if record is not None else None)
    if not headline:
        st.info("No readings yet. Upload a CSV on the Data page.")
        return
    _headlines(info, headline, record)
    first_training = _model_lines(info.name, record)
    _sparkline(info, headline[0].name, record)
    running = [j for j in ws.jobs(info.name, active_only=True) if j.kind != CYCLE]  # the cycle is shown below
    if running and not first_training:
        what = "Model comparison" if running[0].kind == "compare" else "Training"
        st.caption(f":material/model_training: {what} in progress (job #{running[0].id}).")
    st.caption(f":material/flag: {levels_words(len(ws.levels(info.name)))}")
    with st.container(key=f"{K}open_{info.id}"):
        st.page_link(  # a link, not a button: the reservoir goes in the address, so a new tab or a bookmark keeps it
            "pages/forecast.py",
            label="Open forecast",
            icon=":material/timeline:",
            help="Show this reservoir's 7-day forecast.",
            query_params={ui.RESERVOIR_PARAM: info.name},
            width="stretch",
        )


def _cards(reservoirs: list[ReservoirInfo]) -> None:
    """Cards of a fixed width side by side, as many as fit (three on a wide screen, one on a phone): a narrow
    page gets fewer cards per row, never narrower cards. One card's problem never hides the others."""
    with st.container(horizontal=True, wrap=True, gap="small", key=f"{K}cards_row"):
        for info in reservoirs:
            with st.container(border=True, width=CARD_WIDTH, key=f"{K}card_{info.id}"):
                try:
                    _card(info)
                except Exception as exc:  # noqa: BLE001 - one card's problem must not hide the others
                    ui.show_error(exc)


def _fleet(rows: list[FleetRow]) -> None:
    """A larger workspace: the status table, cards for the chosen few, the daily cycle."""
    fleet_table(rows)
    names = chosen_cards(rows)
    if names:
        ws = ui.workspace()
        _cards([ws.reservoir(name) for name in names])
    st.subheader("Daily cycle", anchor=False)
    cycle_section()


def render() -> None:
    """The fleet table (more than SMALL_FLEET reservoirs) or every card, then the daily cycle."""
    ui.page_header(
        "Overview",
        "Every reservoir at a glance: the alerts, the latest reading, how it moved this week, and what the forecast "
        "model expects for the next days. Open a reservoir to see its full forecast.",
    )
    try:
        rows = fleet_status(ui.workspace())
    except ValueError as exc:
        ui.show_error(exc)
        return
    if not rows:
        ui.point_to("data", "No reservoirs yet. Upload readings on the Data page to get started.")
        return
    bulletin_button(None, f"{K}bulletin")  # every reservoir, summary page first
    if len(rows) > SMALL_FLEET:
        _fleet(rows)
        return
    _cards(ui.workspace().reservoirs())
    with st.expander("Daily cycle: run it now, see its history", icon=":material/autorenew:"):
        cycle_section()


if __name__ == "__main__":  # run by st.navigation (module name __main__), not on import by tests
    ui.run_page(render)
