"""Data page: upload reservoir CSVs, check what was read, import them, and look at what is stored.

Thin: reading and validation are core.data.ingest, the proposals and wording core.app.importplan, storing
core.app.pipeline.import_csv, charts core.charts. The functions below are plain so tests can call exactly what the
page calls; the page body runs only under st.navigation.
"""

from __future__ import annotations

import hashlib
import html
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core import charts
from core.app.importplan import (
    GUESS_COLUMN,
    LAYOUT_LABELS,
    RESERVOIR_LAYOUT,
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
    report_summary,
    retrain_candidates,
    unconfirmed_guesses,
    unit_problems,
)
from core.app.jobs import running_job, start_training
from core.app.pipeline import load_clean
from core.data.clean import CleanFrame, clean_daily
from core.data.config import CleanConfig
from core.data.ingest import ParsedCSV, ReadOptions, read_csv
from core.data.variables import KINDS
from core.model.config import TrainConfig
from core.store.workspace import ReservoirInfo
from pages import common as ui
from pages import data_balance, data_revisions, data_screening
from pages.data_curve import curve_panel, units_help

K = "data_"  # widget key prefix: stable keys that tests set by name
UPLOAD_KEY = f"{K}files"
AUTO_DATE = "(detect automatically)"
ORDER_LABELS = {"auto": "Automatic", "day": "Day first (31/12/2024)", "month": "Month first (12/31/2024)"}
ORDER_VALUES: dict[str, bool | None] = {"auto": None, "day": True, "month": False}
NEW_RESERVOIR = "(new reservoir)"
OTHER_VARIABLE = "(other: type a name)"
AUDIT_ROWS = 1000
FORMAT_HELP = """
- **One header line**, then one row per day (several readings a day are averaged; rainfall is summed).
- **One date column** in any common form: `2024-01-31`, `31/01/2024`, `01/31/2024`, `31-01-2024`, `31 Jan 2024`.
  When no day is above 12 the day/month order cannot be told: choose it in the form.
- **One column per variable** (level, storage, inflow, outflow, rainfall, ...), numbers only. Blank, `NA` or `-`
  cells are read as missing. A unit may be written in the header: `Storage_m3`, `Level (m)`.
- Comma, semicolon or tab separated; decimal point or decimal comma.
- A **wide file** with one column per reservoir (all holding the same variable, e.g. storage) can be imported too.
"""
CLEANING_HELP = (
    "What cleaning does before training (the stored readings are never changed): impossible values and "
    "single-day spikes are masked, gaps of up to {gap} days are filled with a straight line, longer gaps are "
    "left out, and flat-lined sensors are flagged."
)


# ----------------------------------------------------------------------------- cached reads (tested directly)


@st.cache_data(show_spinner="Reading the file...", max_entries=32)
def parse_file(sha256: str, filename: str, date_column: str | None, dayfirst: bool | None, _data: bytes) -> ParsedCSV:
    """read_csv once per file content and read options; `sha256` stands in for the bytes as the cache key."""
    return read_csv(_data, filename=filename, options=ReadOptions(date_column=date_column, dayfirst=dayfirst))


@st.cache_data(show_spinner=False, max_entries=32)
def clean_parsed(sha256: str, date_column: str | None, dayfirst: bool | None, _parsed: ParsedCSV) -> CleanFrame:
    """The parsed file on a daily calendar with QC flags, for its preview chart (default cleaning settings)."""
    return clean_daily(_parsed.frame)


@st.cache_data(show_spinner=False, max_entries=32)
def stored_clean(root: str, reservoir: str, variable: str, stamp: str) -> CleanFrame:
    """A stored variable cleaned with the default settings; `root` and `stamp` key the cache."""
    return load_clean(ui.workspace(), reservoir, [variable], CleanConfig())


@st.cache_data(show_spinner=False)
def example_csv() -> bytes:
    """The built-in sample as a CSV file, so users see the expected format."""
    from core.data.sample import make_sample

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "example.csv"
        make_sample().to_csv(path)
        return path.read_bytes()


def file_keys(contents: list[bytes]) -> list[str]:
    """A stable widget-key prefix per uploaded file (content hash; repeats of one file get a counter)."""
    seen: dict[str, int] = {}
    keys = []
    for data in contents:
        short = hashlib.sha256(data).hexdigest()[:12]
        seen[short] = seen.get(short, 0) + 1
        keys.append(f"{K}f{short}_{seen[short]}_")
    return keys


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


# ----------------------------------------------------------------------------- one uploaded file


def _read_options(fk: str, auto: ParsedCSV) -> ReadOptions:
    """Date column and day/month order, detected values pre-selected; the user can override both."""
    report = auto.report
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
    return ReadOptions(date_column=date_column, dayfirst=ORDER_VALUES[order])


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
    data_screening.upload_findings(report.issues)


def _plan(fk: str, filename: str, parsed: ParsedCSV, options: ReadOptions) -> tuple[ImportPlan, list[str], dict]:
    """Layout, target and column mapping widgets; returns the plan, its problems and a column -> unit map."""
    report = parsed.report
    columns = list(report.columns)
    layouts = list(LAYOUT_LABELS)
    layout = st.radio(
        "What does the file hold?",
        layouts,
        index=layouts.index(guess_layout(columns)),
        format_func=LAYOUT_LABELS.get,
        key=f"{fk}layout",
        help="Most files hold one reservoir; a wide file has one column per reservoir, all of one variable.",
    )
    if layout == WIDE_LAYOUT:
        return _wide_plan(fk, filename, columns, options)
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
    with right:
        if target == NEW_RESERVOIR:
            name = st.text_input(
                "New reservoir name",
                value=default,
                key=f"{fk}name",
                max_chars=80,
                help="How the reservoir is called on every page; defaults to the file name.",
            )
        else:
            name = target
    plan_units: dict[str, str | None] = {}
    mapping: dict[str, str] = {}
    problems: list[str] = []
    if columns:
        st.caption("Columns in the file and the variable each becomes (edit the variable or unit if needed):")
        key = f"{fk}mapping_{options.date_column or ''}"
        edits = (st.session_state.get(key) or {}).get("edited_rows")  # the operator's changes: 'set by you'
        edited = st.data_editor(
            guess_table(columns, parsed.units, edits),
            key=key,
            hide_index=True,
            disabled=["column", GUESS_COLUMN],
            width="stretch",
            column_config={
                "column": st.column_config.TextColumn("column in file", help="The header as written in the file."),
                "variable": st.column_config.TextColumn(
                    "variable",
                    help="Stored variable name; " + ", ".join(KINDS) + " are known and get sensible checks.",
                ),
                "unit": st.column_config.TextColumn(
                    "unit", help="Unit of the readings, e.g. m, ft, hm³, acre-ft, m³/s, cfs, mm, in."
                ),
                GUESS_COLUMN: st.column_config.TextColumn(
                    GUESS_COLUMN, help="Declared by you, or guessed from the header; weak guesses need a confirmation."
                ),
            },
        )
        mapping, plan_units, problems = read_mapping(edited)
        problems += unit_problems(mapping, plan_units)
        weak = unconfirmed_guesses(edited)
        if weak and not st.checkbox(
            f"The variable and unit of {', '.join(weak)} are right",
            key=f"{fk}confirm_{'_'.join(weak)}",
            help="These were guessed from an abbreviation with no unit in the header (a column called 'c_elev' "
            "may be in feet, not metres). Change the unit or variable in the table, or confirm them here.",
        ):
            problems.append(
                f"Weak guess for {', '.join(weak)}: check the variable and unit in the table, then confirm them."
            )
    plan = ImportPlan(layout=RESERVOIR_LAYOUT, reservoir=name, mapping=mapping, units=plan_units, options=options)
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
    plan = ImportPlan(layout=WIDE_LAYOUT, variable=variable, unit=unit or None, options=options)
    return plan, plan.problems(), dict.fromkeys(columns, unit or None)


def _preview_chart(fk: str, sha: str, parsed: ParsedCSV, options: ReadOptions, units: dict[str, Any]) -> None:
    """The file's readings as they would be cleaned: gaps shaded, QC flags marked."""
    frame = parsed.frame
    if frame is None or frame.empty:
        return
    clean = clean_parsed(sha, options.date_column, options.dayfirst, parsed)
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
                if (job := running_job(ws, name)) is not None:
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
                        st.session_state[job_key] = start_training(ws, name, config, retrain=True)
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
    """Everything about one uploaded file: read options, report, plan, preview and the Import button."""
    sha = hashlib.sha256(data).hexdigest()
    with st.container(border=True):
        st.subheader(ui.md_escape(filename), anchor=False)
        auto = parse_file(sha, filename, None, None, data)
        options = _read_options(fk, auto)
        parsed = (
            auto if options == ReadOptions() else parse_file(sha, filename, options.date_column, options.dayfirst, data)
        )
        _show_report(parsed, order_auto=options.dayfirst is None)
        plan, problems, units = _plan(fk, filename, parsed, options)
        for problem in problems:
            st.error(ui.md_escape(problem), icon=":material/error:")
        _preview_chart(fk, sha, parsed, options, units)
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


# ----------------------------------------------------------------------------- stored data


def _variables_table(info: ReservoirInfo) -> pd.DataFrame:
    """Stored variables with unit, span and count."""
    return pd.DataFrame(
        [
            {
                "variable": v.name,
                "unit": v.unit or "",
                "first": v.first,
                "last": v.last,
                "readings": v.count,
                "column in file": v.source_column or "",
            }
            for v in info.variables
        ],
        columns=["variable", "unit", "first", "last", "readings", "column in file"],
    )


def stored_panel(name: str) -> None:
    """What is stored for the selected reservoir: variables, a QC chart, the upload log and changed values."""
    ws = ui.workspace()
    info = ws.reservoir(name)
    st.header(f"Stored data: {ui.md_escape(info.name)}", anchor=False)
    st.caption("The reservoir chosen in the sidebar. Pick another there to see its data.")
    if not info.variables:
        st.info("Nothing stored yet for this reservoir.")
        return
    table = _variables_table(info)
    if not table["column in file"].any():  # e.g. the built-in sample: no file, so no original headers
        table = table.drop(columns=["column in file"])
    ui.show_table(table)
    curve_panel(info.name)
    names = list(info.variable_names)
    if st.session_state.get(f"{K}stored_var") not in names:
        st.session_state[f"{K}stored_var"] = names[0]
    variable = st.selectbox(
        "Variable to chart",
        names,
        key=f"{K}stored_var",
        help="Which stored variable to draw, with what cleaning would do to it before training.",
    )
    unit = info.variable(variable).unit
    try:
        clean = stored_clean(str(ws.root), info.name, variable, ui.data_stamp(info.name))
    except ValueError as exc:
        ui.show_error(exc)
        return
    label = html.escape(variable)
    rename = {variable: label}
    fig = charts.history_figure(
        clean.values.rename(columns=rename),
        clean.flags.rename(columns=rename),
        label,
        unit,
        levels=ws.levels(info.name),
        height=400,
    )
    revised = data_revisions.draw_raw_beside(ws, info.name, variable, unit, fig)
    ui.show_chart(fig, f"{info.name}-{variable}", f"{K}stored_chart")
    if revised:
        st.caption("The chart shows the revised readings: what cleaning, training and forecasts use.")
    st.caption(ui.md_escape(CLEANING_HELP.format(gap=clean.config.max_gap_days)))
    for line in clean.summary_lines():
        st.caption(ui.md_escape(line))
    data_screening.stored_screening(ws, info, variable)
    data_balance.balance_section(ws, info)
    data_revisions.revisions_section(ws, info, variable, unit)

    uploads = ws.uploads(info.name)
    with st.expander(f"Upload log ({len(uploads)})", icon=":material/history:"):
        if uploads:
            ui.show_table(
                pd.DataFrame(
                    [
                        {
                            "time": ui.fmt_time(u["time"]),
                            "file": u["filename"],
                            "added": u["counts"].get(info.name, {}).get("added", u["added"]),
                            "changed": u["counts"].get(info.name, {}).get("changed", u["changed"]),
                            "unchanged": u["counts"].get(info.name, {}).get("unchanged", u["unchanged"]),
                            "warnings": len(u["warnings"]),
                            "upload #": u["id"],
                        }
                        for u in uploads
                    ]
                ),
            )
        else:
            st.caption("No uploads yet.")
    audit = ws.audit(info.name)
    with st.expander(f"Changed values ({len(audit)})", icon=":material/edit_note:"):
        if audit:
            if len(audit) > AUDIT_ROWS:
                st.caption(f"Showing the newest {AUDIT_ROWS:,} of {len(audit):,} changes.")
            ui.show_table(
                pd.DataFrame(
                    [
                        {
                            "date": a["date"],
                            "variable": a["variable"],
                            "old": a["old"],
                            "new": a["new"],
                            "file": a["filename"] or "",
                            "changed at": ui.fmt_time(a["time"]),
                        }
                        for a in audit[:AUDIT_ROWS]
                    ]
                ),
            )
        else:
            st.caption("No stored value has been replaced by a later upload.")


# ----------------------------------------------------------------------------- page


def render() -> None:
    """Upload area, one panel per file, then the selected reservoir's stored data."""
    ui.page_header(
        "Data",
        "Upload daily readings (CSV) for your reservoirs. Each file is checked before anything is stored: you see "
        "how it was read, what is wrong, and what an import would change.",
    )
    help_col, example_col = st.columns([2, 1], vertical_alignment="center")
    with help_col.expander("What should the CSV look like?", icon=":material/help:"):
        st.markdown(FORMAT_HELP)
    with help_col:
        units_help()
    with example_col:
        st.download_button(
            "Download an example CSV",
            data=example_csv(),
            file_name="reservoir-sentinel-example.csv",
            mime="text/csv",
            key=f"{K}example",
            icon=":material/download:",
            help="The built-in sample reservoir as a CSV: the format this page expects.",
        )
    files = (
        ui.allowed("import", "Importing readings")
        and st.file_uploader(
            "Drop CSV files here",
            type=["csv", "txt", "tsv"],
            accept_multiple_files=True,
            key=UPLOAD_KEY,
            help="One or more CSV files; each gets its own check and Import button below.",
        )
        or []
    )
    contents = [f.getvalue() for f in files]
    for fk, upload, data in zip(file_keys(contents), files, contents, strict=True):
        try:
            upload_panel(fk, data, upload.name)
        except Exception as exc:  # noqa: BLE001 - one file's problem must not hide the others
            ui.show_error(exc)

    st.divider()
    name = ui.selected_reservoir()
    if name is None:
        st.info("No reservoirs stored yet. Upload a file above to create one.")
        return
    try:
        stored_panel(name)
    except Exception as exc:  # noqa: BLE001 - shown as a message, never as a traceback
        ui.show_error(exc)


if __name__ == "__main__":  # run by st.navigation (module name __main__), not on import by tests
    ui.run_page(render)
