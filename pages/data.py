"""Data page: upload reservoir files (CSV, USGS RDB, CDEC CSV, Excel), check what was read, import them, and look at
what is stored.

Thin: reading and validation are core.data.ingest, the proposals and wording core.app.importplan, storing
core.app.pipeline.import_csv, charts core.charts; one uploaded file's panel is pages/data_upload.py. The functions
below are plain so tests can call exactly what the page calls; the page body runs only under st.navigation.
"""

from __future__ import annotations

import hashlib
import html
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from core import charts
from core.app.pipeline import load_clean
from core.data.clean import CleanFrame
from core.data.config import CleanConfig
from core.data.sample import make_sample
from core.store.workspace import ReservoirInfo
from pages import common as ui
from pages import data_balance, data_revisions, data_screening
from pages.data_curve import curve_panel, units_help
from pages.data_upload import upload_panel

K = "data_"  # widget key prefix: stable keys that tests set by name
UPLOAD_KEY = f"{K}files"
AUDIT_ROWS = 1000
FORMAT_HELP = """
- **Agency files as they come**: a USGS NWIS RDB file (daily values, tab-separated with `#` comments: parameter
  codes give the variable and unit), CDEC's CSV export (one reservoir per station) and Excel workbooks (`.xlsx`,
  first sheet or one you pick). What the file's format says is shown under *Read as*.
- **One header line**, then one row per day (several readings a day are averaged; rainfall is summed).
- **One date column** in any common form: `2024-01-31`, `31/01/2024`, `01/31/2024`, `31-01-2024`, `31 Jan 2024`.
  When no day is above 12 the day/month order cannot be told: choose it in the form.
- **One column per variable** (level, storage, inflow, outflow, rainfall, ...), numbers only. Blank, `NA` or `-`
  cells are read as missing. A unit may be written in the header: `Storage_m3`, `Level (m)`.
- Comma, semicolon or tab separated; decimal point or decimal comma.
- A **wide file** with one column per reservoir (all holding the same variable, e.g. storage) can be imported too.
- Columns that repeat an earlier reading (*Level on previous day*, *Last year ... on same date*) start unticked:
  they would only echo the record's own history.
"""
CLEANING_HELP = (
    "What cleaning does before training (the stored readings are never changed): impossible values and "
    "single-day spikes are masked, gaps of up to {gap} days are filled with a straight line, longer gaps are "
    "left out, and flat-lined sensors are flagged."
)


# ----------------------------------------------------------------------------- cached reads (tested directly)


@st.cache_data(show_spinner=False, max_entries=32)
def stored_clean(root: str, reservoir: str, variable: str, stamp: str) -> CleanFrame:
    """A stored variable cleaned with the default settings; `root` and `stamp` key the cache."""
    return load_clean(ui.workspace(), reservoir, [variable], CleanConfig())


@st.cache_data(show_spinner=False)
def example_csv() -> bytes:
    """The built-in sample as a CSV file, so users see the expected format."""
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
        "Upload daily readings (CSV, USGS RDB, CDEC, Excel) for your reservoirs. Each file is checked before "
        "anything is stored: you see how it was read, what is wrong, and what an import would change.",
    )
    help_col, example_col = st.columns([2, 1], vertical_alignment="center")
    with help_col.expander("What should the file look like?", icon=":material/help:"):
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
            "Drop files here (CSV, USGS RDB, CDEC CSV, Excel .xlsx)",
            type=["csv", "txt", "tsv", "rdb", "xlsx"],
            accept_multiple_files=True,
            key=UPLOAD_KEY,
            help="One or more files; each gets its own check and Import button below.",
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
