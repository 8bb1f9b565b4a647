"""Levels & alerts page: edit the operating levels, set the alert trigger, and see how the alert rule would have done.

Thin: widgets -> core.app.pipeline (update_levels, set_alert_trigger, verify_alerts) -> render. The table <-> levels
conversion at the top is plain functions so tests check exactly what the Save button applies; the page body runs only
under st.navigation.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import streamlit as st

from core import display
from core.app.pipeline import alert_trigger, relative_variables, set_alert_trigger, update_levels, verify_alerts
from core.app.summary import latest_trend
from core.data.levels import (
    SEVERITIES,
    SIDES,
    LevelError,
    OperatingLevel,
    check_level,
    check_unique_names,
    default_level_variable,
    level_warnings,
)
from core.data.typed_numbers import NumberEntryError, format_number, parse_number_strict
from core.forecast import risk
from core.store.workspace import ModelVersion, ReservoirInfo, Workspace
from pages import common as ui

K = "levels_"  # widget key prefix: stable keys that tests set by name
BANDS = ("50", "80", "95")  # coverage keys stored per version
TRIGGER_RANGE = (5, 95)  # percent; the stored value widens it when set outside (the CLI allows 1-99)

# Editor columns, named once: the page, apply_edits and the tests use these.
NAME, VALUE, SIDE, SEVERITY, VARIABLE = "name", "value", "side", "severity", "variable"
COLUMNS = (NAME, VALUE, SIDE, SEVERITY, VARIABLE)

SCORE_HELP = {
    "pod": "POD (probability of detection): share of real crossings that were warned of. Higher is better.",
    "far": "FAR (false alarm ratio): share of warnings that did not come true. Lower is better.",
    "csi": "CSI (critical success index): overall hit rate, hits / (hits + misses + false alarms). Higher is better.",
}


# ----------------------------------------------------------------------------- pure helpers (tested directly)


def default_variable(ws: Workspace, info: ReservoirInfo) -> str:
    """The variable new levels go on: core's rule (the CLI's `levels --set` uses the same)."""
    active = ws.active_version(info.name)
    return default_level_variable(info.variable_names, active.target if active else None)


def editor_frame(levels: Sequence[OperatingLevel]) -> pd.DataFrame:
    """The stored levels as the editor's table (typed columns, so an empty set still edits)."""
    return pd.DataFrame(
        {
            NAME: pd.Series([lv.name for lv in levels], dtype=object),
            VALUE: pd.Series([format_number(lv.value) for lv in levels], dtype=object),  # text: read strictly
            SIDE: pd.Series([lv.side for lv in levels], dtype=object),
            SEVERITY: pd.Series([lv.severity for lv in levels], dtype=object),
            VARIABLE: pd.Series([lv.variable for lv in levels], dtype=object),
        }
    )


def _blank(value: Any) -> bool:
    """A cell the operator left empty (None, NaN or only spaces)."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _text(value: Any) -> str:
    """A text cell as typed ('' when left empty)."""
    return "" if _blank(value) else str(value).strip()


def _number(value: Any) -> float:
    """A number cell read strictly (NaN when left empty: core's check says what a level's value must be)."""
    return math.nan if _blank(value) else parse_number_strict(value)


def levels_from_frame(frame: pd.DataFrame, relative: Collection[str] = ()) -> list[OperatingLevel]:
    """The edited table as levels (unit left to the variable), each checked by core; empty rows are skipped
    (`relative`: variables declared relative, whose levels may be negative).

    A refused row's message is core's (check_level), led by its row number so the operator finds it in the grid.
    """
    levels: list[OperatingLevel] = []
    for row_no, (_, row) in enumerate(frame.reindex(columns=list(COLUMNS)).iterrows(), start=1):
        if _blank(row[NAME]) and _blank(row[VALUE]):
            continue  # a new row the operator never filled in
        try:
            value = _number(row[VALUE])
        except NumberEntryError as exc:
            name = _text(row[NAME])
            raise LevelError(f"Row {row_no}: Level '{name}': value must be a finite number; {exc}") from None
        level = OperatingLevel(
            name=_text(row[NAME]),
            value=value,
            unit=None,
            side=_text(row[SIDE]),
            severity=_text(row[SEVERITY]),
            variable=_text(row[VARIABLE]),
        )
        try:
            check_level(level, relative=level.variable in relative)
        except LevelError as exc:
            raise LevelError(f"Row {row_no}: {exc}") from None
        levels.append(level)
    return levels


def _same(a: OperatingLevel, b: OperatingLevel) -> bool:
    """Unchanged by the edit (the unit follows the variable, so it is not compared)."""
    return (a.name, a.value, a.side, a.severity, a.variable) == (b.name, b.value, b.side, b.severity, b.variable)


def plan_changes(
    stored: Sequence[OperatingLevel], edited: Sequence[OperatingLevel]
) -> tuple[list[OperatingLevel], list[str]]:
    """Levels added or changed (by name) and the stored names no longer in the table: update_levels' arguments."""
    before = {lv.name.lower(): lv for lv in stored}
    kept = {lv.name.lower() for lv in edited}
    new = [lv for lv in edited if lv.name.lower() not in before or not _same(before[lv.name.lower()], lv)]
    remove = [lv.name for lv in stored if lv.name.lower() not in kept]
    return new, remove


@dataclass(frozen=True)
class SaveResult:
    """What the Save button did: the stored set afterwards and the names it touched."""

    levels: tuple[OperatingLevel, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]

    @property
    def nothing(self) -> bool:
        """The table matched the stored set; nothing was written."""
        return not self.changed and not self.removed

    def message(self) -> str:
        """The success line shown under the editor (level names escaped: operators typed them)."""
        n = len(self.levels)
        text = f"Saved {n} level{'s' if n != 1 else ''}."
        if self.changed:
            text += f" Added or changed: {', '.join(ui.md_escape(x) for x in self.changed)}."
        if self.removed:
            text += f" Removed: {', '.join(ui.md_escape(x) for x in self.removed)}."
        return text


def apply_edits(ws: Workspace, reservoir: str, frame: pd.DataFrame) -> SaveResult:
    """Store the edited table; core checks the whole set first (LevelError), so a refused edit stores nothing."""
    info = ws.reservoir(reservoir)
    stored = ws.levels(info.name)
    edited = levels_from_frame(frame, relative_variables(ws, info.name))
    check_unique_names(edited)  # the whole table: update_levels sees only the changed rows, merged by name
    new, remove = plan_changes(stored, edited)
    if not new and not remove:
        return SaveResult(tuple(stored), (), ())
    saved = update_levels(ws, info.name, new=new, remove=remove)
    return SaveResult(tuple(saved), tuple(lv.name for lv in new), tuple(remove))


def units_of(info: ReservoirInfo, variables: Sequence[str]) -> set[str | None]:
    """Units of the named variables (to decide whether one unit fits the value column's header)."""
    return {v.unit for v in info.variables if v.name in variables}


def verification_frame(result: dict[str, Any]) -> pd.DataFrame:
    """verify_alerts' rows as the page's table; scores in percent (NaN where there was nothing to score)."""
    rows = []
    for r in result["levels"]:
        rows.append(
            {
                "level": r["level"],
                "value": r["value"],
                "side": r["side"],
                "severity": r["severity"],
                "events": r["events"],
                "alerts": r["alerts"],
                "hits": r["hits"],
                "misses": r["misses"],
                "false alarms": r["false_alarms"],
                **{
                    key.upper(): (100.0 * r[key] if r[key] is not None else float("nan"))
                    for key in ("pod", "far", "csi")
                },
            }
        )
    columns = ["level", "value", "side", "severity", "events", "alerts", "hits", "misses", "false alarms"]
    return pd.DataFrame(rows, columns=[*columns, "POD", "FAR", "CSI"])


def coverage_of(record: ModelVersion) -> dict[str, dict[str, Any]]:
    """The version's stored band coverage ({} for versions saved without it)."""
    cov = record.metrics.get("coverage") or {}
    return {b: cov[b] for b in BANDS if isinstance(cov.get(b), dict) and cov[b].get("mean") is not None}


def period_of(record: ModelVersion) -> tuple[str, str] | None:
    """The version's test period (start, end), the days it never trained on."""
    return record.splits.get("test")


def coverage_frame(coverage: dict[str, dict[str, Any]], unit: str | None) -> pd.DataFrame:
    """One row per band: aim, how often it held the truth overall and per lead day, average width."""
    width = f"average width ({unit})" if unit else "average width"
    rows = []
    for band, c in coverage.items():
        row: dict[str, Any] = {
            "band": f"{band}%",
            "aim": 100.0 * float(c.get("nominal", int(band) / 100)),
            "held the truth": 100.0 * float(c["mean"]),
        }
        for lead, share in enumerate(c.get("by_horizon") or [], start=1):
            row[f"day {lead}"] = 100.0 * float(share)
        row[width] = float(c["mean_width"]) if c.get("mean_width") is not None else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def coverage_sentence(coverage: dict[str, dict[str, Any]], period: tuple[str, str] | None, band: str = "80") -> str:
    """'The 80% band held the truth 78% of the time on 2022-03-15 – 2023-12-31 data' (empty without coverage)."""
    c = coverage.get(band)
    if not c:
        return ""
    where = f" on {period[0]} – {period[1]} data" if period else " on its test data"
    return f"The {band}% band held the truth {float(c['mean']):.0%} of the time{where} (aim: {band}%)."


# ----------------------------------------------------------------------------- cached work


@st.cache_data(show_spinner=False, max_entries=32)
def _verify(
    root: str,
    reservoir: str,
    version: int,
    sha256: str,
    trigger: float,
    levels: tuple[OperatingLevel, ...],
    stamp: str,
) -> dict[str, Any]:
    """Alert verification per reservoir/version/trigger/levels/data state (root and sha only key the cache)."""
    return verify_alerts(
        ui.workspace(),
        reservoir,
        version,
        trigger=trigger,
        levels=list(levels),
        loaded=ui.loaded_model(reservoir, version),
    )


# ----------------------------------------------------------------------------- page sections


def _editor_key() -> str:
    """The editor's key; a new one after each save so the table restarts from the stored set."""
    return f"{K}editor_{st.session_state.get(f'{K}generation', 0)}"


def _levels_section(ws: Workspace, info: ReservoirInfo) -> None:
    """The levels table the operator edits, the Save button, and the outcome right under it."""
    st.subheader("Operating levels")
    levels = ws.levels(info.name)
    variables = list(info.variable_names)
    if not variables:
        st.info("This reservoir has no readings yet, so levels have nothing to be drawn on.", icon=":material/info:")
        return
    default = default_variable(ws, info)
    units = units_of(info, {lv.variable for lv in levels} | {default})
    unit = next(iter(units)) if len(units) == 1 else None
    value_label = f"Value ({unit})" if unit else ("Value" if len(units) == 1 else "Value (in its variable's unit)")
    how = (
        "Add a row at the bottom of the table, select a row and press Delete to remove it, then **Save levels**. "
        if ui.can("levels")
        else ""
    )
    st.caption(
        "Each row is one line the forecast is checked against. "
        + how
        + "Units: "
        + ", ".join(f"{ui.md_escape(v.name)} in {ui.md_escape(v.unit or 'no unit given')}" for v in info.variables)
        + "."
    )
    if not levels:
        st.info(
            "No levels yet. Add a row: name (e.g. 'Flood warning'), value"
            + (f" in {ui.md_escape(unit)}" if unit else "")
            + ", side (flood = alert above the line, drought = alert below it), severity ("
            + ", ".join(SEVERITIES)
            + ") and variable, then **Save levels**.",
            icon=":material/add_row_below:",
        )
    editable = ui.allowed("levels", "Changing the levels")
    edited = st.data_editor(
        editor_frame(levels),
        key=_editor_key(),
        disabled=not editable,
        num_rows="dynamic" if editable else "fixed",
        column_order=list(COLUMNS),
        column_config={
            NAME: st.column_config.TextColumn(
                "Name",
                help="What operators call this line, e.g. 'Flood warning'. Names must differ.",
                required=True,
                max_chars=60,
                width="medium",
            ),
            VALUE: st.column_config.TextColumn(  # text, so '398.000,5' reaches the strict parser as typed
                value_label,
                help="Where the line lies, in the unit of its variable: one number with a decimal point, "
                "e.g. 313.5 (no thousands marks).",
                required=True,
            ),
            SIDE: st.column_config.SelectboxColumn(
                "Side",
                options=list(SIDES),
                required=True,
                default="flood",
                help="flood: alert when the forecast rises ABOVE the line; drought: alert when it falls BELOW it.",
            ),
            SEVERITY: st.column_config.SelectboxColumn(
                "Severity",
                options=list(SEVERITIES),
                required=True,
                default="watch",
                help="watch < warning < danger; more severe lines lie further out (flood: higher, drought: lower).",
            ),
            VARIABLE: st.column_config.SelectboxColumn(
                "Variable",
                options=variables,
                required=True,
                default=default,
                help="The reading the line is drawn on; alerts are checked only when a model forecasts it.",
            ),
        },
    )
    message = st.container()
    _level_warnings(info, edited, levels)
    if not editable:
        return
    save = st.button(
        "Save levels",
        key=f"{K}save",
        type="primary",
        icon=":material/save:",
        help="Check the whole table and store it; if any row is wrong nothing is stored and the problem is shown.",
    )
    if save:
        try:
            result = apply_edits(ws, info.name, edited)
        except Exception as exc:  # noqa: BLE001 - ValueErrors are the operator's to fix; others must not show a traceback
            ui.show_error(exc, message)
            message.caption("Nothing was stored; the table keeps your edits so you can fix them.")
            return
        if result.nothing:
            message.info("Nothing to save: the table matches the stored levels.", icon=":material/info:")
            return
        ui.flash(f"{K}saved", result.message())
        st.session_state[f"{K}generation"] = st.session_state.get(f"{K}generation", 0) + 1
        st.rerun()
    ui.show_flash(f"{K}saved", message)


def _level_warnings(info: ReservoirInfo, edited: pd.DataFrame, stored: Sequence[OperatingLevel]) -> None:
    """Warnings on the table as it stands (the edits before a save, else the stored set): a side that disagrees
    with the level's name, a line the latest reading has already crossed (core.data.levels.level_warnings)."""
    try:
        levels = levels_from_frame(edited, relative_variables(ui.workspace(), info.name))
    except LevelError:  # a row Save would refuse: its own message comes with the Save
        levels = list(stored)
    units = {v.name: v.unit for v in info.variables}
    levels = [replace(lv, unit=lv.unit or units.get(lv.variable)) for lv in levels]
    latest = {}
    for variable in {lv.variable for lv in levels} & set(info.variable_names):
        trend = latest_trend(ui.readings(info.name, (variable,))[variable])
        if trend is not None:
            latest[variable] = (trend.date, trend.value)
    for text in level_warnings(levels, latest):
        st.warning(ui.md_escape(text), icon=":material/warning:")


def _trigger_section(ws: Workspace, reservoir: str) -> float:
    """The alert trigger slider and its Save button; returns the slider's value (the verification previews it)."""
    st.subheader("Alert trigger")
    stored = round(100 * alert_trigger(ws, reservoir))
    lo, hi = min(TRIGGER_RANGE[0], stored), max(TRIGGER_RANGE[1], stored)
    if f"{K}trigger" not in st.session_state or not lo <= st.session_state[f"{K}trigger"] <= hi:
        st.session_state[f"{K}trigger"] = stored
    slider_col, save_col = st.columns([3, 2], gap="large")
    pct = slider_col.slider(
        "Raise an alert when the chance of crossing a level within the forecast days is at least (%)",
        min_value=lo,
        max_value=hi,
        step=1,
        key=f"{K}trigger",
        format="%d%%",
        help="The trigger probability. Lower = earlier warnings but more false alarms; higher = fewer false "
        "alarms but some crossings are warned of late or not at all.",
    )
    save_col.caption(
        "Lower = earlier warnings but more false alarms; higher = fewer false alarms but more missed crossings. "
        f"Stored: {stored}%. The verification below uses the slider's value, so you can try one before saving."
    )
    if not ui.allowed("levels", "Changing the trigger", save_col):
        return pct / 100
    if save_col.button(
        "Save trigger",
        key=f"{K}save_trigger",
        icon=":material/save:",
        disabled=pct == stored,
        help="Store this trigger; forecasts and alerts use it from now on.",
    ):
        try:
            set_alert_trigger(ws, reservoir, pct / 100)
        except Exception as exc:  # noqa: BLE001 - never a traceback on the page
            ui.show_error(exc, save_col)
            return pct / 100
        ui.flash(f"{K}trigger_saved", f"Alert trigger saved: {pct}%.")
        st.rerun()
    ui.show_flash(f"{K}trigger_saved", save_col)
    return pct / 100


def _target_of(record: ModelVersion) -> str:
    """What a version forecasts, for the version picker."""
    return f"forecasts {record.target or '?'}"


def _verification_table(frame: pd.DataFrame, unit: str | None) -> None:
    """The scores table with each column explained in its header tooltip."""
    count = "Forecasts (one per issue day) after which"
    config: dict[str, Any] = {
        "level": st.column_config.TextColumn("Level", help="The operating level checked."),
        "value": st.column_config.NumberColumn(f"Value ({unit})" if unit else "Value", help="Where the line lies."),
        "side": st.column_config.TextColumn("Side", help="flood: crossing = above; drought: crossing = below."),
        "severity": st.column_config.TextColumn("Severity", help="watch < warning < danger."),
        "events": st.column_config.NumberColumn(
            "Events", help=f"{count} the level really was crossed within the forecast days."
        ),
        "alerts": st.column_config.NumberColumn("Alerts", help=f"{count} the rule raised an alert for this level."),
        "hits": st.column_config.NumberColumn("Hits", help="Alerts followed by a real crossing."),
        "misses": st.column_config.NumberColumn("Misses", help="Real crossings with no alert."),
        "false alarms": st.column_config.NumberColumn("False alarms", help="Alerts with no crossing."),
        "POD": st.column_config.TextColumn("POD", help=SCORE_HELP["pod"]),
        "FAR": st.column_config.TextColumn("FAR", help=SCORE_HELP["far"]),
        "CSI": st.column_config.TextColumn("CSI", help=SCORE_HELP["csi"]),
    }
    shown = frame.copy()
    for col in ("POD", "FAR", "CSI"):  # text, so an empty score reads '–' rather than 'None'
        shown[col] = [f"{v:.0f}%" if pd.notna(v) else "–" for v in frame[col]]
    ui.show_table(shown, column_config=config)


def _verification_section(ws: Workspace, info: ReservoirInfo, trigger: float) -> ModelVersion | None:
    """Pick a version, then how its alerts would have done on its test period; returns the chosen version."""
    st.subheader("How the alerts would have done")
    models = ws.versions(info.name)
    if not models:
        ui.point_to(
            "train",
            f"There is no trained model for {ui.md_escape(info.name)} yet, so there are no past forecasts to check "
            "the alerts on. Train a model first; the levels above can be set already.",
            icon=":material/model_training:",
        )
        return None
    record = ui.pick_version(
        models,
        f"{K}version",
        _target_of,
        help="Which trained model's past forecasts the alert rule is checked on; 'Active model' follows the "
        "version chosen on the Models page.",
    )
    version = record.version
    target = record.target
    unit = ui.unit_of(info.name, target)
    levels = risk.applicable(ws.levels(info.name), target)
    if record.meta.get("calibration") is None:
        st.info(
            f"Version {version} was saved without the error record that uncertainty bands need, so it cannot "
            "give alert probabilities. Retrain it on the Train page to check alerts.",
            icon=":material/info:",
        )
        return record
    if not levels:
        st.info(
            f"No operating levels are set on {ui.md_escape(target)}, the reading version {version} forecasts, so there "
            f"is nothing to check. Add a level above with variable '{ui.md_escape(target)}'.",
            icon=":material/info:",
        )
        return record
    try:
        with st.spinner(f"Running version {version} over its test period (a few seconds)..."):
            result = _verify(
                str(ws.root), info.name, version, record.sha256, trigger, tuple(levels), ui.data_stamp(info.name)
            )
    except Exception as exc:  # noqa: BLE001 - the page must never show a traceback
        ui.show_error(exc)
        return record
    start, end = result["period"]
    n = max((r["forecasts"] for r in result["levels"]), default=0)
    st.caption(
        f"Version {version}'s forecasts issued {start} – {end} ({n} days it never trained on), alerting when the "
        f"chance of crossing within the forecast days is at least {result['trigger']:.0%}. An event is a real "
        "crossing within the forecast days after an issue day."
    )
    _verification_table(verification_frame(result), unit)
    st.markdown("\n".join(f"- {text}" for text in SCORE_HELP.values()))
    if any(r["pod"] is None and r["far"] is None for r in result["levels"]):
        st.caption(
            "A dash instead of a score: the level was never crossed and never warned of in this period, so there is "
            "nothing to score."
        )
    return record


def _coverage_section(record: ModelVersion, info: ReservoirInfo) -> None:
    """How often the version's 50/80/95% bands held the real value on its test period."""
    st.subheader("How trustworthy the bands are")
    coverage = coverage_of(record)
    version = record.version
    if not coverage:
        st.info(
            f"Version {version} did not measure its uncertainty bands; retrain it on the Train page to get them.",
            icon=":material/info:",
        )
        return
    unit = ui.unit_of(info.name, record.target)
    st.write(coverage_sentence(coverage, period_of(record)))
    frame = coverage_frame(coverage, unit)
    pct = "%.0f%%"
    config: dict[str, Any] = {
        "band": st.column_config.TextColumn("Band", help="The range the value should stay in this share of the time."),
        "aim": st.column_config.NumberColumn("Aim", help="How often the band should hold the real value.", format=pct),
        "held the truth": st.column_config.NumberColumn(
            "Held the truth", help="How often the real value fell inside the band, all forecast days.", format=pct
        ),
    }
    for col in frame.columns:
        if col.startswith("day "):
            config[col] = st.column_config.NumberColumn(
                col.capitalize(), help=f"Share held on forecast {col} (days ahead of the issue date).", format=pct
            )
        elif col.startswith("average width"):
            config[col] = st.column_config.NumberColumn(
                col.capitalize(),
                help="Average distance between the band's low and high ends.",
                format=display.printf_format(frame[col]),
            )
    ui.show_table(frame, column_config=config)
    st.caption("Close to the aim is good. Well below it: the bands are too narrow, so alerts come late or not at all.")


def render() -> None:
    """Page body."""
    reservoir = ui.reservoir_page(
        "Levels & alerts",
        "Operating levels are the lines the forecast is checked against: on the flood side an alert is raised when "
        "the level is forecast to rise ABOVE a line, on the drought side when it is forecast to fall BELOW one, "
        "with severity watch < warning < danger. An alert is raised when the chance of crossing a line within the "
        "forecast days is at least the trigger probability.",
    )
    if reservoir is None:
        return
    if ui.forget_on_switch(K, reservoir, ("trigger", "version", "saved", "trigger_saved")):  # its own table too
        st.session_state[f"{K}generation"] = st.session_state.get(f"{K}generation", 0) + 1
    ws = ui.workspace()
    info = ws.reservoir(reservoir)
    _levels_section(ws, info)
    trigger = _trigger_section(ws, info.name)
    record = _verification_section(ws, info, trigger)
    if record is not None:
        _coverage_section(record, info)


if __name__ == "__main__":  # run by st.navigation (module name __main__), not on import by tests
    ui.run_page(render)
