"""The Train page's settings form, shared by one training run and a model comparison: widgets -> TrainConfig.

The settings are kept per reservoir in the workspace (core.app.trainsettings), so a browser refresh, the other tab
or another browser tab starts from the last ones. Not a page itself (app.py lists pages explicitly).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from core.app.pipeline import default_features
from core.app.serving import model_label
from core.app.trainsettings import save_settings, saved_settings
from core.data.variables import main_variable
from core.model.config import DEFAULT_MODEL, ModelConfig, SplitConfig, TrainConfig
from core.model.zoo import MODEL_NAMES, ZOO
from core.store.workspace import ReservoirInfo
from pages import common as ui
from pages.train_jobs import K

DEFAULTS = TrainConfig(target="level")
NUMBERS = {  # widget key suffix -> (TrainConfig field, lowest, highest): the widgets' bounds and the restore's clamp
    "n_steps": ("n_steps", 1, 365),
    "horizon": ("horizon", 1, 60),
    "lr": ("learning_rate", 1e-6, 0.1),
    "epochs": ("epochs", 1, 5000),
    "batch": ("batch_size", 1, 4096),
    "patience": ("patience", 1, 500),
}
FORM_KEYS = ("model", "target", "features", "test_from", *NUMBERS)
MODEL_CHOICES = tuple(dict.fromkeys([m for m in (DEFAULT_MODEL,) if m in ZOO] + list(MODEL_NAMES)))  # default first
MEMBERS_LIST = "\n".join(f"- **{e.label}**: {e.description}" for e in ZOO.values())  # for help texts


def model_choice(name: str) -> str:
    """A model picker's option: the member's name, the app's default marked as the recommended one."""
    label = model_label(name)
    return f"{label} (recommended)" if name == DEFAULT_MODEL else label


def _test_day(text: str | None, info: ReservoirInfo) -> dt.date | None:
    """A saved test start as a date the picker accepts (None when unset or outside the stored readings)."""
    try:
        day = dt.date.fromisoformat(str(text)) if text else None
    except ValueError:
        return None
    first = dt.date.fromisoformat(info.first) if info.first else None
    last = dt.date.fromisoformat(info.last) if info.last else None
    if day is None or (first and day < first) or (last and day > last):
        return None
    return day


def _stored_form(reservoir: str, info: ReservoirInfo) -> dict[str, Any]:
    """The form's values from the settings last used on this reservoir, else its defaults; all within the widgets."""
    variables = info.variable_names
    saved = saved_settings(ui.workspace(), reservoir)
    base = saved or DEFAULTS
    target = saved.target if saved is not None and saved.target in variables else main_variable(variables)
    if saved is not None and saved.target == target:
        features = [f for f in saved.features if f in variables and f != target]
    else:
        features = list(default_features(ui.workspace(), reservoir, str(target)))
    values: dict[str, Any] = {
        "model": base.model.name if base.model.name in ZOO else MODEL_CHOICES[0],
        "target": target,
        "features": features,
        "test_from": _test_day(base.split.test_from, info),
    }
    for key, (name, low, high) in NUMBERS.items():
        value = getattr(base, name)  # None only for the learning rate: left to the model
        values[key] = None if value is None else type(low)(min(max(value, low), high))
    return values


def _restore_form(reservoir: str, info: ReservoirInfo) -> None:
    """Fill the widgets the session lacks (first visit, refresh, another page or tab in between) from the workspace."""
    if st.session_state.get(f"{K}for") != reservoir:  # first visit, or the sidebar switched reservoir
        for key in FORM_KEYS:
            st.session_state.pop(f"{K}{key}", None)
        st.session_state[f"{K}for"] = reservoir
    if st.session_state.get(f"{K}target") not in info.variable_names:
        st.session_state.pop(f"{K}target", None)
        st.session_state.pop(f"{K}features", None)
    missing = [key for key in FORM_KEYS if f"{K}{key}" not in st.session_state]
    if missing:
        stored = _stored_form(reservoir, info)
        for key in missing:
            st.session_state[f"{K}{key}"] = stored[key]
        st.session_state[f"{K}saved"] = stored  # what the workspace holds: a change from it is saved


def _form_config(values: dict[str, Any]) -> TrainConfig:
    """The form's values as training settings (not yet checked)."""
    test_from = values["test_from"]
    return TrainConfig(
        target=str(values["target"]),
        features=tuple(values["features"] or ()),
        n_steps=int(values["n_steps"]),
        horizon=int(values["horizon"]),
        learning_rate=None if values["lr"] is None else float(values["lr"]),
        epochs=int(values["epochs"]),
        batch_size=int(values["batch"]),
        patience=int(values["patience"]),
        model=ModelConfig(name=str(values["model"])),
        split=SplitConfig(test_from=test_from.isoformat()) if isinstance(test_from, dt.date) else SplitConfig(),
    )


def _keep_form(reservoir: str) -> dict[str, Any]:
    """The form's values now; saved to the workspace when the operator changed one since the last save."""
    values = {key: st.session_state.get(f"{K}{key}") for key in FORM_KEYS}
    if values != st.session_state.get(f"{K}saved"):
        save_settings(ui.workspace(), reservoir, _form_config(values))
        st.session_state[f"{K}saved"] = values
    return values


def _number(where: Any, label: str, key: str, **options: Any) -> None:
    """One numeric setting, its bounds from NUMBERS (the restore clamps saved values to the same ones)."""
    _, low, high = NUMBERS[key]
    where.number_input(label, low, high, key=f"{K}{key}", **options)


def _model_picker() -> None:
    """Which kind of model to train: the recommended default first, what the chosen one is in a caption."""
    name = st.selectbox(
        "Model",
        MODEL_CHOICES,
        key=f"{K}model",
        format_func=model_choice,
        help="The recommended model did best on average on real reservoirs; the 'Compare models' tab ranks them "
        "all on this reservoir's own days.\n\n" + MEMBERS_LIST,
    )
    member = ZOO[name]
    note = (
        ""
        if member.trains_over_epochs
        else " It is fitted in one go: the epoch, batch and patience settings do not apply."
    )
    st.caption(f"{member.description}{note}")


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
    *,
    pick_model: bool = False,
) -> TrainConfig | None:
    """The settings form (shared by training and the model comparison); a checked config when its button is pressed.

    `pick_model` draws the model picker (one training run); the comparison picks its models itself.
    """
    info = ui.workspace().reservoir(reservoir)
    variables = info.variable_names
    if not variables:
        ui.point_to("data", "This reservoir has no readings yet. Upload some on the Data page.")
        return None
    _restore_form(reservoir, info)
    units = {v.name: v.unit for v in info.variables}
    if pick_model:
        _model_picker()

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
        st.multiselect(
            "Other readings the model may use",
            options,
            key=f"{K}features",
            help="Readings that help explain the target, such as rainfall, inflow and outflow.",
        )
        st.date_input(
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
        _number(
            a,
            "History window (days)",
            "n_steps",
            help="Days of history the model looks at for each forecast.",
        )
        _number(
            b,
            "Forecast horizon (days)",
            "horizon",
            help="How many days ahead the model forecasts.",
        )
        _number(
            a,
            "Learning rate",
            "lr",
            step=1e-4,
            format="%.1e",
            placeholder="the model's own",
            help="Size of each learning step; smaller is slower but steadier. Leave it empty for the model's own: "
            "3e-4 for the single nets, 1e-3 for the Conv1D+LSTM ensemble (it stops in half the epochs with the "
            "same skill).",
        )
        _number(
            b,
            "Epochs (max passes)",
            "epochs",
            help="Most passes over the training years; training usually stops earlier on its own.",
        )
        _number(
            a,
            "Batch size",
            "batch",
            help="Forecast examples learned from at once; larger is faster, smaller can learn finer detail.",
        )
        _number(
            b,
            "Patience (epochs)",
            "patience",
            help="Stop after this many passes without improvement on the validation days, keeping the best one.",
        )
    values = _keep_form(reservoir)
    start = st.button(start_label, type="primary", key=start_key, icon=":material/play_arrow:", help=start_help)
    if not start:
        return None
    try:
        return _form_config(values).checked()
    except ValueError as exc:
        ui.show_error(exc)
        return None


if __name__ == "__main__":  # run on its own (Streamlit's pages/ discovery): the app, never this section alone
    ui.run_page()
