"""Data page, one uploaded file: how it was read (its format, sheet, date column and order), what each column
becomes (or which station becomes which reservoir), the report judged as the operator declared the columns, the
out-of-range choice before anything is stored, a preview, and the Import button.

Thin: reading is core.data.ingest, proposals and wording core.app.importplan, storing core.app.pipeline.import_csv.
Not a page itself (app.py lists pages explicitly).
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import replace
from typing import Any

import pandas as pd
import streamlit as st

from core import charts
from core.app import jobs
from core.app.importplan import (
    GUESS_COLUMN,
    IMPORT_COLUMN,
    LAYOUT_LABELS,
    RESERVOIR_LAYOUT,
    STATIONS_LAYOUT,
    WIDE_LAYOUT,
    ImportPlan,
    apply,
    default_reservoir,
    guess_layout,
    guess_table,
    guess_wide_variable,
    issue_table,
    outcome_lines,
    read_mapping,
    read_stations,
    report_summary,
    retrain_candidates,
    skipped_columns,
    stations_table,
    unconfirmed_guesses,
    unit_problems,
)
from core.data.clean import CleanFrame, clean_daily
from core.data.config import MASK, OUT_OF_RANGE_DECISIONS
from core.data.ingest import ParsedCSV, ReadOptions, read_csv
from core.data.variables import KINDS
from core.model.config import TrainConfig
from pages import common as ui
from pages import data_screening

K = "data_"  # widget key prefix: stable keys that tests set by name
AUTO_DATE = "(detect automatically)"
ORDER_LABELS = {"auto": "Automatic", "day": "Day first (31/12/2024)", "month": "Month first (12/31/2024)"}
ORDER_VALUES: dict[str, bool | None] = {"auto": None, "day": True, "month": False}
NEW_RESERVOIR = "(new reservoir)"
OTHER_VARIABLE = "(other: type a name)"
RANGE_CODES = ("negative", "out_of_range")


@st.cache_data(show_spinner="Reading the file...", max_entries=64)
def parse_file(sha256: str, filename: str, key: str, _data: bytes, _options: ReadOptions) -> ParsedCSV:
    """read_csv once per file content and read options; `sha256` and `key` (the options' repr) key the cache."""
    return read_csv(_data, filename=filename, options=_options)


def parse(sha: str, filename: str, data: bytes, options: ReadOptions) -> ParsedCSV:
    """The file read with these options (cached per content and options)."""
    return parse_file(sha, filename, repr(options), data, options)


@st.cache_data(show_spinner=False, max_entries=32)
def clean_parsed(sha256: str, key: str, _parsed: ParsedCSV) -> CleanFrame:
    """The parsed file on a daily calendar with QC flags, for its preview chart (default cleaning settings)."""
    return clean_daily(_parsed.frame)


def run_import(fk: str, data: bytes, filename: str, plan: ImportPlan) -> None:
    """Import button callback: store the file, remember what happened, select the reservoir it went to.

    Runs before the next script run, so selecting the reservoir here also updates the sidebar picker.
    """
    ws = ui.workspace()
    try:
        with st.spinner(f"Importing {filename}..."):
            outcome = apply(ws, data, filename, plan)
    except ValueError as exc:  # ImportRefused, StoreError: nothing was stored
        st.session_state[f"{fk}result"] = {"error": str(exc)}
        return
    except Exception as exc:  # noqa: BLE001 - shown on the page, never as a traceback
        st.session_state[f"{fk}result"] = {
            "error": f"Something went wrong ({type(exc).__name__}: {exc}). Nothing was imported."
        }
        return
    results = [r.to_dict() for r in outcome.results]
    st.session_state[f"{fk}result"] = {
        "results": results,
        "lines": outcome_lines(results),
        "retrain": retrain_candidates(ws, outcome),
    }
    if results:
        st.session_state[ui.RESERVOIR_KEY] = results[0]["reservoir"]
        stored = results[0]["reservoir"]
        if plan.layout == RESERVOIR_LAYOUT and stored in ui.reservoir_names():
            st.session_state[f"{fk}target"] = stored  # it exists now: the file panel must stop offering "(new)"


# ----------------------------------------------------------------------------- how the file is read


def _read_options(fk: str, auto: ParsedCSV) -> ReadOptions:
    """Sheet (a workbook with several), date column and day/month order; detected values pre-selected."""
    report = auto.report
    sheets = auto.source.sheets if auto.source is not None else ()
    sheet = None
    if len(sheets) > 1:
        sheet = st.selectbox(
            "Sheet",
            list(sheets),
            key=f"{fk}sheet",
            help="The workbook's sheet that holds the daily readings; the first one is read unless you pick another.",
        )
    columns = list(dict.fromkeys([c for c in (report.date_column, *report.columns) if c]))
    left, right = st.columns([1, 2])
    with left:
        if columns:
            choice = st.selectbox(
                "Date column",
                [AUTO_DATE, *columns],
                key=f"{fk}date_col",
                format_func=lambda c: f"{c} (detected)" if c == report.date_column else c,
                help="The column holding the dates; automatic detection is right for most files.",
            )
            date_column = None if choice == AUTO_DATE else choice
        else:
            typed = st.text_input(
                "Date column",
                key=f"{fk}date_col_text",
                placeholder="name of the date column",
                help="No date column was found automatically: type the name of the column that holds the dates.",
            )
            date_column = typed.strip() or None
    with right:
        order = st.radio(
            "Day/month order",
            list(ORDER_LABELS),
            format_func=ORDER_LABELS.get,
            key=f"{fk}order",
            horizontal=True,
            help="How to read dates like 03/04/2024: 3 April (day first) or March 4 (month first).",
        )
    return ReadOptions(date_column=date_column, dayfirst=ORDER_VALUES[order], sheet=sheet)


def _format_notice(parsed: ParsedCSV) -> None:
    """'Read as: USGS RDB, parameter 00054 storage acre-ft (daily mean), ...': what the file's format said."""
    report = parsed.report
    if not report.described:
        return
    head, *rest = report.described
    st.info(
        f"**Read as: {ui.md_escape(head)}**\n\n" + "\n".join(f"- {ui.md_escape(line)}" for line in rest),
        icon=":material/description:",
    )


def _show_report(parsed: ParsedCSV, order_auto: bool) -> None:
    """Summary line, blocking errors, warnings with their explanation, and the offending rows."""
    report = parsed.report
    st.caption(ui.md_escape(report_summary(report)))
    for issue in report.errors:
        st.error(ui.md_escape(issue.message), icon=":material/error:")
        if issue.code == "ambiguous_dates" and order_auto:
            st.info("Choose **Day first** or **Month first** under *Day/month order* above to read these dates.")
    for issue in report.warnings:
        st.warning(ui.md_escape(issue.message), icon=":material/warning:")
    rows = issue_table(report.issues)
    if not rows.empty:
        st.caption("Where the problems are (line numbers count the header as line 1):")
        ui.show_table(rows)


# ----------------------------------------------------------------------------- what the columns become


def _mapping_editor(fk: str, parsed: ParsedCSV, options: ReadOptions) -> tuple[pd.DataFrame, list[str]]:
    """The column table (import tick, variable, unit, how it was read) and the weak guesses still to confirm."""
    report = parsed.report
    st.caption(
        "Columns in the file and the variable each becomes. Untick a column to leave it out (its bad cells then "
        "only warn); edit the variable or unit if needed:"
    )
    key = f"{fk}mapping_{options.date_column or ''}" + (f"_{options.sheet}" if options.sheet else "")
    edits = (st.session_state.get(key) or {}).get("edited_rows")  # the operator's changes: 'set by you'
    edited = st.data_editor(
        guess_table(report.columns, parsed.units, parsed.source, report.skipped, edits),
        key=key,
        hide_index=True,
        disabled=["column", GUESS_COLUMN],
        width="stretch",
        column_config={
            IMPORT_COLUMN: st.column_config.CheckboxColumn(
                IMPORT_COLUMN, help="Import this column. Lagged copies and codes the app does not map start unticked."
            ),
            "column": st.column_config.TextColumn("column in file", help="The header as written in the file."),
            "variable": st.column_config.TextColumn(
                "variable", help="Stored variable name; " + ", ".join(KINDS) + " are known and get sensible checks."
            ),
            "unit": st.column_config.TextColumn(
                "unit", help="Unit of the readings, e.g. m, ft, hm³, acre-ft, TMC, m³/s, cfs, cusecs, ML/day, mm, in."
            ),
            GUESS_COLUMN: st.column_config.TextColumn(
                GUESS_COLUMN, help="Read from the file's format, declared by you, or guessed from the header."
            ),
        },
    )
    weak = unconfirmed_guesses(edited, parsed.source)
    return edited, weak


def _confirm(fk: str, weak: list[str]) -> list[str]:
    """The confirmation a weak guess needs; the problem that blocks the import until it is given."""
    if not weak or st.checkbox(
        f"The variable and unit of {', '.join(weak)} are right",
        key=f"{fk}confirm_{'_'.join(weak)}",
        help="These were guessed (a column called 'c_elev' may be in feet, not metres; a header unit may not be "
        "what its variable is measured in). Change the unit or variable in the table, or confirm them here.",
    ):
        return []
    return [f"Weak guess for {', '.join(weak)}: check the variable and unit in the table, then confirm them."]


def _reservoir_name(fk: str, filename: str) -> str:
    """The reservoir one file goes to: an existing one or a new one (named after the file, or the station an
    agency file holds, so next month's download with another file name adds to the same reservoir)."""
    existing = ui.reservoir_names()
    default = default_reservoir(filename, existing)
    targets = [NEW_RESERVOIR, *existing]
    left, right = st.columns(2)
    with left:
        target = st.selectbox(
            "Reservoir",
            targets,
            index=targets.index(default) if default in existing else 0,
            key=f"{fk}target",
            help="Add the readings to an existing reservoir, or create a new one.",
        )
    if target != NEW_RESERVOIR:
        return target
    with right:
        return st.text_input(
            "New reservoir name",
            value=default,
            key=f"{fk}name",
            max_chars=120,
            help="How the reservoir is called on every page; defaults to the file name (or an agency file's station). "
            "Plain text, up to 120 characters.",
        )


def _stations(fk: str, parsed: ParsedCSV) -> tuple[dict[str, str], list[str]]:
    """Several stations: which reservoir each becomes (its id at first, renameable)."""
    assert parsed.source is not None
    st.caption("Each station becomes a reservoir; rename them here (or later imports add to the same names):")
    edited = st.data_editor(
        stations_table(parsed.source, ui.reservoir_names()),
        key=f"{fk}stations",
        hide_index=True,
        disabled=["station", "name in the file", ""],
        width="stretch",
        column_config={"reservoir": st.column_config.TextColumn("reservoir", help="The reservoir's name.")},
    )
    return read_stations(edited)


def _plan(fk: str, filename: str, parsed: ParsedCSV, options: ReadOptions) -> tuple[ImportPlan, list[str], dict]:
    """Layout, target and column mapping widgets; returns the plan, its problems and a column -> unit map."""
    report = parsed.report
    several = parsed.source is not None and parsed.source.multi_station
    layouts = [k for k in LAYOUT_LABELS if k != STATIONS_LAYOUT or several]
    guessed = guess_layout(report.columns, parsed.source)
    layout = st.radio(
        "What does the file hold?",
        layouts,
        index=layouts.index(guessed) if guessed in layouts else 0,
        format_func=LAYOUT_LABELS.get,
        key=f"{fk}layout",
        help="Most files hold one reservoir; a wide file has one column per reservoir, all of one variable; an "
        "agency file may hold several stations.",
    )
    if layout == WIDE_LAYOUT:
        return _wide_plan(fk, filename, list(report.columns), options)
    stations: dict[str, str] = {}
    if layout == STATIONS_LAYOUT:
        stations, problems = _stations(fk, parsed)
        name = None
    else:
        station = next(iter(parsed.source.stations), None) if parsed.source else None
        name, problems = _reservoir_name(fk, station or filename), []
    mapping: dict[str, str] = {}
    plan_units: dict[str, str | None] = {}
    skip: tuple[str, ...] = ()
    if report.columns:
        edited, weak = _mapping_editor(fk, parsed, options)
        mapping, plan_units, more = read_mapping(edited, parsed.source)
        skip = skipped_columns(edited)
        problems += more + unit_problems(mapping, plan_units) + _confirm(fk, weak)
    declared = replace(
        options,
        skip=skip,
        variables=tuple(mapping.items()),
        units=tuple((c, plan_units[v]) for c, v in mapping.items() if plan_units.get(v)),
    )
    plan = ImportPlan(
        layout=layout, reservoir=name, mapping=mapping, units=plan_units, options=declared, stations=stations
    )
    column_units = {c: plan_units.get(v) for c, v in mapping.items()}
    return plan, problems + plan.problems(), column_units


def _wide_plan(fk: str, filename: str, columns: list[str], options: ReadOptions) -> tuple[ImportPlan, list[str], dict]:
    """Wide file: which variable all columns hold and its unit; the columns name the reservoirs."""
    guess = guess_wide_variable(filename)
    choices = [*KINDS, OTHER_VARIABLE]
    left, mid, right = st.columns(3)
    with left:
        choice = st.selectbox(
            "Variable in every column",
            choices,
            index=choices.index(guess),
            key=f"{fk}wide_var",
            help="What the numbers are, e.g. storage or rainfall; each column is one reservoir.",
        )
    with mid:
        if choice == OTHER_VARIABLE:
            variable = st.text_input(
                "Variable name", key=f"{fk}wide_var_text", help="A short name for the variable, e.g. 'turbidity'."
            ).strip()
        else:
            variable = choice
            st.caption(f"{choice}: {KINDS[choice].description}.")
    with right:
        kind = KINDS.get(variable)
        unit = st.text_input(
            "Unit",
            value=(kind.default_unit if kind else None) or "",
            key=f"{fk}wide_unit_{variable}",
            help="Unit of the readings, e.g. mcft, hm³, m, mm.",
        ).strip()
    existing = {n.lower() for n in ui.reservoir_names()}
    if columns:
        st.caption("Each column becomes a reservoir:")
        ui.show_table(
            pd.DataFrame(
                {
                    "column in file": columns,
                    "reservoir": [c.strip() for c in columns],
                    "": ["adds to existing" if c.strip().lower() in existing else "new" for c in columns],
                }
            ),
        )
    declared = replace(options, variables=tuple((c, variable) for c in columns), units=())
    plan = ImportPlan(layout=WIDE_LAYOUT, variable=variable, unit=unit or None, options=declared)
    return plan, plan.problems(), dict.fromkeys(columns, unit or None)


# ----------------------------------------------------------------------------- before anything is stored


def _decisions(fk: str, parsed: ParsedCSV, plan: ImportPlan) -> dict[str, str]:
    """The file's screening runs, and for every variable with values outside its physical range, the choice
    cleaning will follow (mask / keep / relative), stored with the import."""
    data_screening.upload_findings(parsed.report.issues)
    variables = dict(plan.options.variables)
    out: dict[str, str] = {}
    for issue in parsed.report.issues:
        if issue.code not in RANGE_CODES or not issue.column:
            continue
        variable = variables.get(issue.column, issue.column)
        choice = st.radio(
            f"{issue.count:,} values of '{issue.column}' ({variable}) are outside what a {variable} can be. What "
            "should cleaning do with them?",
            list(OUT_OF_RANGE_DECISIONS),
            format_func=lambda d: f"{d}: {OUT_OF_RANGE_DECISIONS[d]}",
            key=f"{fk}oor_{issue.column}",
            horizontal=False,
            help="Stored with the import for this variable; training, forecasts and charts follow it. You can change "
            "it later under Stored data (or `python -m core qc`).",
        )
        if choice != MASK:
            out[variable] = choice
    return out


def _preview_chart(fk: str, sha: str, parsed: ParsedCSV, units: dict[str, Any]) -> None:
    """The file's readings as they would be cleaned: gaps shaded, QC flags marked."""
    frame = parsed.frame
    if frame is None or frame.empty:
        return
    clean = clean_parsed(sha, repr(list(frame.columns)), parsed)
    column = st.selectbox(
        "Column to chart",
        list(frame.columns),
        key=f"{fk}chart_col",
        help="Which column of the file to draw; grey bands are missing days, markers show what QC found.",
    )
    # Column names are user text: plotly renders a few HTML tags in labels, so escape them for the chart.
    label = html.escape(str(column))
    rename = {column: label}
    fig = charts.history_figure(
        clean.values[[column]].rename(columns=rename),
        clean.flags[[column]].rename(columns=rename),
        label,
        units.get(column),
        raw=frame[[column]].rename(columns=rename),
        height=360,
    )
    ui.show_chart(fig, f"{parsed.report.filename}-{column}", f"{fk}chart")


def _show_result(fk: str) -> None:
    """What the last import of this file did, and the retrain offer for reservoirs that got new days."""
    result = st.session_state.get(f"{fk}result")
    if not result:
        return
    if "error" in result:
        st.error(ui.md_escape(result["error"]), icon=":material/error:")
        return
    for r, line in zip(result["results"], result["lines"], strict=True):
        if r["already_imported"]:
            st.info(ui.md_escape(line), icon=":material/info:")
        else:
            st.success(ui.md_escape(line), icon=":material/check_circle:")
    ws = ui.workspace()
    for name in result["retrain"]:
        job_key = f"{fk}job_{name}"
        slot = st.empty()
        if job_key not in st.session_state:
            with slot.container():
                st.markdown(f"**{ui.md_escape(name)}** has new days and an active model.")
                if (job := jobs.running_job(ws, name)) is not None:
                    what = "model comparison" if job.kind == "compare" else "training run"
                    st.caption(f"A {what} is already going for this reservoir; see the Train page.")
                elif st.button(
                    "Retrain with the same settings",
                    key=f"{fk}retrain_{name}",
                    icon=":material/model_training:",
                    help="Train a new version on all data with the active version's settings; you decide "
                    "afterwards whether it replaces the active one.",
                ):
                    try:
                        config = TrainConfig.from_dict(ws.version(name).config)
                        st.session_state[job_key] = jobs.start_training(ws, name, config, retrain=True)
                    except ValueError as exc:
                        ui.show_error(exc)
        if job_key in st.session_state:
            slot.success(
                f"Retraining of {ui.md_escape(name)} started (job #{st.session_state[job_key]}). "
                "Follow it on the Train page.",
                icon=":material/model_training:",
            )
        st.page_link("pages/train.py", label="Follow training on the Train page", icon=":material/model_training:")


def upload_panel(fk: str, data: bytes, filename: str) -> None:
    """Everything about one uploaded file: read options, how its columns are read, the report as declared, the
    out-of-range choice, preview and the Import button."""
    sha = hashlib.sha256(data).hexdigest()
    with st.container(border=True, key=f"{fk}panel"):
        st.subheader(ui.md_escape(filename), anchor=False)
        auto = parse(sha, filename, data, ReadOptions())
        options = _read_options(fk, auto)
        base = auto if options == ReadOptions() else parse(sha, filename, data, options)
        _format_notice(base)
        plan, problems, units = _plan(fk, filename, base, options)
        parsed = parse(sha, filename, data, plan.options) if base.report.columns else base  # judged as declared
        _show_report(parsed, order_auto=options.dayfirst is None)
        plan = replace(plan, decisions=_decisions(fk, parsed, plan))
        for problem in problems:
            st.error(ui.md_escape(problem), icon=":material/error:")
        _preview_chart(fk, sha, parsed, units)
        blocked = ""
        if not parsed.report.ok:
            n = len(parsed.report.errors)
            blocked = f"Fix the {'error' if n == 1 else f'{n} errors'} above in the file (or the read options) first."
        elif problems:
            blocked = "Fix the settings above first."
        st.button(
            "Import",
            key=f"{fk}import",
            type="primary",
            icon=":material/download:",
            disabled=bool(blocked),
            on_click=run_import,
            args=(fk, data, filename, plan),
            help=blocked or "Store the readings; values already stored for the same days are replaced and logged.",
        )
        if blocked:
            st.caption(f"Import is disabled: {blocked}")
        _show_result(fk)


if __name__ == "__main__":  # run on its own (Streamlit's pages/ discovery): the app, never this section alone
    ui.run_page()
