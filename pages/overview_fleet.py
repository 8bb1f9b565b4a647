"""The Overview's fleet section: headline counts, the filterable status table, and which reservoirs get cards.

Not a page itself (app.py lists pages explicitly). The rows come from core.app.fleet.fleet_status (cheap reads of
the latest cycle results, no forecasting); this module only reads the filter widgets and draws.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from core import display
from core.app.fleet import (
    EITHER,
    NO_FORECAST,
    NOT_RUN,
    STALE_DAYS,
    STATE_ORDER,
    FleetFilter,
    FleetRow,
    by_urgency,
    counts,
    default_cards,
    filter_rows,
)
from core.app.serving import model_label
from pages import common as ui

K = "overview_"  # widget key prefix, shared with pages/overview.py
CARDS_KEY = f"{K}cards"
STATE_WORDS = {NOT_RUN: "Not run yet", NO_FORECAST: "No forecast", "no levels": "No levels"}
STATE_COLOURS = {  # cell backgrounds, light enough for dark text; same hues as the alert banners
    "Danger": "#f6c6c6",
    "Warning": "#fbdcb0",
    "Watch": "#fdf1b8",
    "Normal": "#d8efd8",
    "No forecast": "#e6e6e6",
    "failed": "#f6c6c6",
}
SIDE_CHOICES = {EITHER: "Either side", "flood": "Flood side", "drought": "Drought side"}


def state_label(state: str) -> str:
    """A side's state as the table writes it: 'Danger', 'Normal', 'No levels', 'Not run yet'."""
    return STATE_WORDS.get(state, state.capitalize())


def _colour(value: object) -> str:
    """CSS for one state cell (blank for states that need no attention)."""
    colour = STATE_COLOURS.get(str(value))
    return f"background-color: {colour}; color: #1f1f1f" if colour else ""


def table_frame(rows: Sequence[FleetRow]) -> pd.DataFrame:
    """The rows as the table shows them: words for states, numbers with their own columns for sorting."""
    return pd.DataFrame(
        {
            "Reservoir": [r.reservoir for r in rows],
            "Flood": [state_label(r.flood) for r in rows],
            "Drought": [state_label(r.drought) for r in rows],
            "Last reading": [r.last_reading for r in rows],
            "Age (days)": [r.age_days for r in rows],
            "Change (7 days)": [r.change for r in rows],
            "Unit": [r.unit or "" for r in rows],
            "Model": [f"v{r.version} · {model_label(r.model)}" if r.version else "no model" for r in rows],
            "Skill (%)": [None if r.skill is None else 100 * r.skill for r in rows],
            "Coverage (%)": [None if r.coverage is None else 100 * r.coverage for r in rows],
            "Last cycle": [r.cycle_status for r in rows],
            "Issued": [r.issued for r in rows],
            "Why": [r.reason for r in rows],
        }
    )


def _column_config() -> dict[str, object]:
    """Headers' help: every column explains itself on hover (numbers are written by _styled)."""
    number = st.column_config.NumberColumn
    return {
        "Reservoir": st.column_config.TextColumn("Reservoir", pinned=True),
        "Flood": st.column_config.TextColumn(help="Alert on the flood side (forecast above the flood lines)."),
        "Drought": st.column_config.TextColumn(help="Alert on the drought side (forecast below the drought lines)."),
        "Last reading": st.column_config.TextColumn(help="Day of the last stored reading of the forecast variable."),
        "Age (days)": number(help=f"Days since that reading; more than {STALE_DAYS} means the feed may have stopped."),
        "Change (7 days)": number(help="Forecast median on the last day minus the last reading (in the unit beside)."),
        "Model": st.column_config.TextColumn(help="The active model version that forecasts this reservoir."),
        "Skill (%)": number(help="How much smaller its test errors were than 'tomorrow = today' (negative: worse)."),
        "Coverage (%)": number(
            help="Share of the last 90 days' outcomes that fell inside the issued 80 % band (about 80 is right)."
        ),
        "Last cycle": st.column_config.TextColumn(help="How the latest daily cycle went for this reservoir."),
        "Issued": st.column_config.TextColumn(help="The day the latest cycle's forecast starts from."),
        "Why": st.column_config.TextColumn(
            help="The raised alert's reason, or why there is no forecast.", width="large"
        ),
    }


def _filters() -> FleetFilter:
    """The filter widgets in one row; their values as a FleetFilter."""
    search, states, side, toggles = st.columns([3, 3, 2, 2], vertical_alignment="bottom")
    text = search.text_input("Search by name", key=f"{K}search", placeholder="part of a reservoir name")
    chosen = states.multiselect(
        "Alert state",
        STATE_ORDER,
        key=f"{K}states",
        format_func=state_label,
        placeholder="any state",
        help="Keep reservoirs whose chosen side is in one of these states.",
    )
    which = side.selectbox(
        "Side", list(SIDE_CHOICES), key=f"{K}side", format_func=SIDE_CHOICES.get, help="Which side the filters read."
    )
    only_alerts = toggles.toggle("Only with alerts", key=f"{K}only_alerts", help="Watch, warning or danger.")
    stale = toggles.toggle("Stale data", key=f"{K}stale", help=f"No reading for more than {STALE_DAYS} days.")
    return FleetFilter(tuple(chosen), which, text, only_alerts, stale)


def _headline(rows: Sequence[FleetRow]) -> None:
    """Five counts an operator checks first, side by side while they fit (wrapping on a narrow page)."""
    n = counts(rows)
    ui.metric_row(
        [
            {"label": label, "value": value, "help": help_text}
            for label, value, help_text in (
                ("Reservoirs", n["reservoirs"], "Reservoirs in this workspace."),
                ("Alerts raised", n["raised"], f"{n['danger']} at danger; watch, warning or danger on either side."),
                ("Stale feeds", n["stale"], f"No reading for more than {STALE_DAYS} days."),
                ("Failed last cycle", n["failed"], "The latest daily cycle could not forecast them; see 'Why'."),
                ("Not run yet", n["not_run"], "Never forecast by the daily cycle: run it below."),
            )
        ],
        key=f"{K}counts",
    )


def fleet_table(rows: Sequence[FleetRow]) -> list[FleetRow]:
    """The filters and the table (most urgent first); returns the rows shown."""
    st.subheader("Fleet status", anchor=False)
    st.caption(
        "One line per reservoir from the latest daily cycle: the alert on each side, how fresh the data are, "
        "where the forecast heads, and how good its model is. Rows start most urgent first; click a column "
        "header to sort, and use the filters to narrow the list."
    )
    _headline(rows)
    shown = by_urgency(filter_rows(rows, _filters()))
    if not shown:
        st.info("No reservoir matches these filters. Clear the search or the toggles to see the others.")
        return shown
    frame = table_frame(shown)
    ui.show_table(
        _styled(frame, shown),
        column_config=_column_config(),
        key=f"{K}table",
        height=min(38 + 35 * len(shown), 738),
        placeholder="-",
    )
    st.caption(f"{len(shown)} of {len(rows)} reservoirs shown.")
    return shown


def _styled(frame: pd.DataFrame, rows: Sequence[FleetRow]) -> object:
    """Coloured state cells, red stale ages, numbers written per row; sorting still uses the numbers underneath."""
    whole = "{:.0f}".format
    styled = frame.style.map(_colour, subset=["Flood", "Drought", "Last cycle"])
    styled = styled.apply(lambda _: _stale_style(frame, rows), axis=None)
    formats = {
        "Age (days)": whole,
        "Change (7 days)": lambda v: display.number(v, signed=v != 0),  # decimals by magnitude: units differ by row
        "Skill (%)": whole,
        "Coverage (%)": whole,
    }
    return styled.format(formats, na_rep="-")  # the table's placeholder says '-' for empty cells too


def _stale_style(frame: pd.DataFrame, rows: Sequence[FleetRow]) -> pd.DataFrame:
    """Per-cell CSS marking stale ages in red (a frame of styles matching `frame`)."""
    styles = pd.DataFrame("", index=frame.index, columns=frame.columns)
    styles.loc[[r.stale for r in rows], "Age (days)"] = "color: #b3261e; font-weight: 600"
    return styles


def chosen_cards(rows: Sequence[FleetRow]) -> list[str]:
    """'Show cards for': the raised alerts by default (else the first few); the operator adds or removes."""
    names = [r.reservoir for r in rows]
    if CARDS_KEY not in st.session_state or not set(st.session_state[CARDS_KEY]) <= set(names):
        st.session_state[CARDS_KEY] = [n for n in default_cards(rows) if n in names]
    st.subheader("Reservoir cards", anchor=False)
    st.caption(
        "The full card (latest reading, weekly trend, model, forecast chart and alert) for a few reservoirs: "
        "by default those with a raised alert, most severe first. Each card runs its forecast, so keep it to a few."
    )
    return st.multiselect("Show cards for", names, key=CARDS_KEY, placeholder="pick reservoirs")


if __name__ == "__main__":  # run on its own (Streamlit's pages/ discovery): the app, never this section alone
    ui.run_page()
