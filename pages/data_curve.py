"""The Data page's curve and units sections: the stored storage-elevation curve (table, chart, upload) and the units
the app knows with their conversions. Not a page itself (app.py lists pages explicitly).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.app.curves import import_curve, remove_curve, stored_curve
from core.charts.curve import curve_figure
from core.data.curves import CurveOptions
from core.data.units import unit_rows
from pages import common as ui

K = "data_curve_"  # widget key prefix


def _import(name: str) -> None:
    """Button callback: read, check and store the uploaded curve; the outcome is shown on the next run."""
    upload = st.session_state.get(f"{K}file")
    if upload is None:
        return
    options = CurveOptions(
        elevation_unit=st.session_state.get(f"{K}elev_unit") or None,
        storage_unit=st.session_state.get(f"{K}stor_unit") or None,
    )
    try:
        outcome = import_curve(
            ui.workspace(),
            name,
            upload.getvalue(),
            filename=upload.name,
            options=options,
            partial=bool(st.session_state.get(f"{K}partial")),
        )
    except ValueError as exc:
        st.session_state[f"{K}result"] = {"error": str(exc)}
        return
    st.session_state[f"{K}result"] = {
        "ok": f"Curve stored: {len(outcome.curve.elevation)} rows.",
        "warn": outcome.uncovered,
    }


def _remove(name: str) -> None:
    """Button callback: forget the curve."""
    remove_curve(ui.workspace(), name)
    st.session_state[f"{K}result"] = {"ok": "Curve removed."}


def curve_panel(name: str) -> None:
    """The reservoir's storage-elevation curve (table and chart) and the form to import or replace it."""
    curve = stored_curve(ui.workspace(), name)
    with st.expander(
        "Storage-elevation curve" + (f" ({len(curve.elevation)} rows)" if curve else " (none)"),
        icon=":material/show_chart:",
        expanded=curve is not None,
    ):
        if curve is not None:
            st.caption(
                ui.md_escape(
                    f"From {curve.source or 'a file'}: "
                    + "; ".join(curve.notes)
                    + ". Storage forecasts are also given as level and back; levels can be set on either."
                )
            )
            table_col, chart_col = st.columns([1, 2])
            with table_col:
                ui.show_table(curve.frame(), height=300)
            with chart_col:
                ui.show_chart(curve_figure(curve), f"{name}-curve", f"{K}chart", compact=True)
            if ui.can("edit"):
                st.button(
                    "Remove the curve", key=f"{K}remove", on_click=_remove, args=(name,), icon=":material/delete:"
                )
        else:
            st.caption(
                "No curve yet. A curve is a table of elevations and the storage at each (or an elevation-area-"
                "capacity table); with it, a storage forecast is also shown as elevation, and back."
            )
        if not ui.allowed("edit", "Importing a curve"):
            return
        st.file_uploader("Curve table (CSV or .xlsx)", type=["csv", "txt", "tsv", "xlsx"], key=f"{K}file")
        left, mid, right = st.columns(3)
        left.text_input("Elevation unit", key=f"{K}elev_unit", placeholder="from the header, e.g. ft or m")
        mid.text_input("Storage unit", key=f"{K}stor_unit", placeholder="from the header, e.g. acre-ft, hm³")
        right.checkbox(
            "Store it anyway if it does not cover the records",
            key=f"{K}partial",
            help="Readings outside the curve are then not converted.",
        )
        st.button("Import curve", key=f"{K}store", on_click=_import, args=(name,), icon=":material/upload:")
        result = st.session_state.pop(f"{K}result", None)
        if result and "error" in result:
            st.error(ui.md_escape(result["error"]), icon=":material/error:")
        elif result:
            st.success(result["ok"], icon=":material/check_circle:")
            for text in result.get("warn") or ():
                st.warning(ui.md_escape(text), icon=":material/warning:")


def units_help() -> None:
    """The units the app knows, metric and US customary, with the conversion it applies for each."""
    with st.expander("Units the app knows", icon=":material/straighten:"):
        st.caption(
            "Readings are stored in the unit you declare, never converted on import. Conversions are applied only "
            "where two units meet (a curve in feet on records in metres), with these factors:"
        )
        ui.show_table(pd.DataFrame(unit_rows()))


if __name__ == "__main__":  # run on its own (Streamlit's pages/ discovery): the app, never this section alone
    ui.run_page()
