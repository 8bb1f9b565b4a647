"""The Train page's settings form, shared by one training run and a model comparison: widgets -> TrainConfig.

Not a page itself (app.py lists pages explicitly).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from core.app.pipeline import default_features
from core.data.variables import main_variable
from core.model.config import SplitConfig, TrainConfig
from pages import common as ui
from pages.train_jobs import K

DEFAULTS = TrainConfig(target="level")


def _reset_form(reservoir: str, variables: tuple[str, ...]) -> None:
    """Fill the form with this reservoir's defaults (first visit, or the sidebar switched reservoir)."""
    target = main_variable(variables)
    st.session_state[f"{K}target"] = target
    st.session_state[f"{K}features"] = list(default_features(ui.workspace(), reservoir, target))
    st.session_state[f"{K}for"] = reservoir


def _target_changed() -> None:
    """A new target gets its own default covariates (never the target itself)."""
    reservoir = st.session_state.get(f"{K}for")
    target = st.session_state[f"{K}target"]
    st.session_state[f"{K}features"] = list(default_features(ui.workspace(), reservoir, target))


def settings_form(
    reservoir: str,
    start_label: str = "Start training",
    start_key: str = f"{K}start",
    start_help: str | None = "Train one model with these settings in the background.",
) -> TrainConfig | None:
    """The settings form (shared by training and the model comparison); a checked config when its button is pressed."""
    info = ui.workspace().reservoir(reservoir)
    variables = info.variable_names
    if not variables:
        ui.point_to("data", "This reservoir has no readings yet. Upload some on the Data page.")
        return None
    if st.session_state.get(f"{K}for") != reservoir or st.session_state.get(f"{K}target") not in variables:
        _reset_form(reservoir, variables)
    units = {v.name: v.unit for v in info.variables}

    left, right = st.columns(2)
    with left:
        target = st.selectbox(
            "What to forecast",
            variables,
            key=f"{K}target",
            on_change=_target_changed,
            format_func=lambda v: f"{v} ({units[v]})" if units.get(v) else v,
            help="The reading the model predicts, usually the water level or the storage.",
        )
        options = [v for v in variables if v != target]
        st.session_state[f"{K}features"] = [v for v in st.session_state.get(f"{K}features", []) if v in options]
        features = st.multiselect(
            "Other readings the model may use",
            options,
            key=f"{K}features",
            help="Readings that help explain the target, such as rainfall, inflow and outflow.",
        )
        test_from = st.date_input(
            "Test period starts on (optional)",
            value=None,
            min_value=pd.Timestamp(info.first).date() if info.first else None,
            max_value=pd.Timestamp(info.last).date() if info.last else None,
            key=f"{K}test_from",
            format="YYYY-MM-DD",
            help="Days from this date on are kept aside to score the model; empty = the last 15 % of the record.",
        )
    with right:
        a, b = st.columns(2)
        n_steps = a.number_input(
            "History window (days)",
            1,
            365,
            DEFAULTS.n_steps,
            key=f"{K}n_steps",
            help="Days of history the model looks at for each forecast.",
        )
        horizon = b.number_input(
            "Forecast horizon (days)",
            1,
            60,
            DEFAULTS.horizon,
            key=f"{K}horizon",
            help="How many days ahead the model forecasts.",
        )
        learning_rate = a.number_input(
            "Learning rate",
            1e-6,
            0.1,
            DEFAULTS.learning_rate,
            step=1e-4,
            format="%.1e",
            key=f"{K}lr",
            help="Size of each learning step; smaller is slower but steadier. 3e-4 suits most records.",
        )
        epochs = b.number_input(
            "Epochs (max passes)",
            1,
            5000,
            DEFAULTS.epochs,
            key=f"{K}epochs",
            help="Most passes over the training years; training usually stops earlier on its own.",
        )
        batch_size = a.number_input(
            "Batch size",
            1,
            4096,
            DEFAULTS.batch_size,
            key=f"{K}batch",
            help="Forecast examples learned from at once; larger is faster, smaller can learn finer detail.",
        )
        patience = b.number_input(
            "Patience (epochs)",
            1,
            500,
            DEFAULTS.patience,
            key=f"{K}patience",
            help="Stop after this many passes without improvement on the validation days, keeping the best one.",
        )
    start = st.button(start_label, type="primary", key=start_key, icon=":material/play_arrow:", help=start_help)
    if not start:
        return None
    try:
        return TrainConfig(
            target=target,
            features=tuple(features),
            n_steps=int(n_steps),
            horizon=int(horizon),
            learning_rate=float(learning_rate),
            epochs=int(epochs),
            batch_size=int(batch_size),
            patience=int(patience),
            split=SplitConfig(test_from=test_from.isoformat()) if isinstance(test_from, dt.date) else SplitConfig(),
        ).checked()
    except ValueError as exc:
        ui.show_error(exc)
        return None
