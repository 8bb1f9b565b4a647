"""Models page: every saved version of a reservoir's forecaster, which one is used, rollback and clean-up."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core import charts
from core.app.summary import model_skill
from core.model.architectures import ZOO
from core.store.versions import delete_version
from core.store.workspace import StoreError
from pages.common import ensure_shell, fmt_time, number_format, reservoir_page, show_chart, show_error, workspace

ensure_shell()  # a bookmarked page URL after a restart still goes through app.py

K = "models_"  # widget key prefix: stable keys that tests set by name
# Shown left to right: with several kinds of model (the zoo) which model a version is matters as much as its
# scores, so it comes right after the version and its active flag; creation time and the rest scroll into view.
SHOWN_ORDER = (
    "Version",
    "Active",
    "Model",
    "Skill",
    "Test MAE",
    "Target",
    "Covariates",
    "Data range",
    "Created",
    "Val MAE",
    "Epochs",
    "Train time (s)",
)


def _row(m: dict[str, Any]) -> dict[str, Any]:
    """One table row from a stored version record (missing numbers stay empty)."""
    meta = m.get("meta") or {}
    config = meta.get("config") or {}
    metrics = meta.get("metrics") or {}
    data_range = (meta.get("data") or {}).get("range") or [None, None]
    return {  # the columns that fit at 1280 px first; epochs, train time, model name and val MAE after
        "Version": int(m["version"]),
        "Active": bool(m["active"]),
        "Skill": model_skill(m),
        "Test MAE": (metrics.get("model") or {}).get("mae"),
        "Target": config.get("target"),
        "Covariates": ", ".join(config.get("features") or []) or "-",
        "Data range": f"{data_range[0]} to {data_range[1]}",
        "Created": fmt_time(m["created"]).removesuffix(" UTC"),
        "Val MAE": m.get("val_mae"),
        "Epochs": meta.get("epochs_run"),
        "Train time (s)": meta.get("train_seconds"),
        "Model": model_label(m),
    }


def model_label(m: dict[str, Any]) -> str:
    """Which kind of model a version is ('Ridge regression'), from its saved settings."""
    name = ((m.get("meta") or {}).get("config") or {}).get("model", {}).get("name") or "?"
    entry = ZOO.get(name)
    return entry.label if entry else name


def _table(models: list[dict[str, Any]], unit: str | None) -> None:
    """All versions, newest first, with units on the error columns."""
    suffix = f" ({unit})" if unit else ""
    number = st.column_config.NumberColumn
    frame = pd.DataFrame([_row(m) for m in reversed(models)])
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_order=[c for c in SHOWN_ORDER if c in frame.columns],
        column_config={
            "Version": number("Ver.", help="Version number; the newest is on top.", width=50),
            "Active": st.column_config.CheckboxColumn(help="The version forecasts use.", width=55),
            "Skill": number(
                "Skill",
                format="percent",
                help="Skill vs persistence: above 0 % = better than assuming 'tomorrow = today'.",
                width=70,
            ),
            "Test MAE": number(
                f"Test MAE{suffix}",
                format=number_format(frame["Test MAE"]),
                help="Average error on the untouched test days.",
            ),
            "Target": st.column_config.TextColumn(help="The reading the version forecasts.", width=70),
            "Covariates": st.column_config.TextColumn(help="Other readings the version uses."),
            "Data range": st.column_config.TextColumn(help="First and last day of the readings it learned from."),
            "Created": st.column_config.TextColumn("Created (UTC)", help="When the version was trained (UTC)."),
            "Val MAE": number(
                f"Val MAE{suffix}",
                format=number_format(frame["Val MAE"]),
                help="Average error on the validation days (picks the active one).",
            ),
            "Train time (s)": number(format="%,.0f"),
            "Model": st.column_config.TextColumn(
                help="The kind of model (compare kinds on the Train page).", width=170
            ),
        },
    )


def _activate(reservoir: str, version: int) -> None:
    """Button callback: make a version the one forecasts use (rollback or promote)."""
    try:
        workspace().set_active(reservoir, version)
    except ValueError as exc:
        st.session_state[f"{K}error"] = exc
    else:
        st.session_state[f"{K}flash"] = f"Version {version} is now the active model: forecasts use it."


def _delete(reservoir: str, version: int) -> None:
    """Button callback: remove an inactive version and its files (the store refuses the active one)."""
    try:
        delete_version(workspace(), reservoir, version)
    except ValueError as exc:
        st.session_state[f"{K}error"] = exc
    else:
        st.session_state[f"{K}flash"] = f"Version {version} and its files were deleted."
    st.session_state[f"{K}confirm"] = False


def _actions(reservoir: str, models: list[dict[str, Any]]) -> None:
    """Pick a version, see its settings, activate or delete it."""
    versions = [int(m["version"]) for m in reversed(models)]
    active = next((int(m["version"]) for m in models if m["active"]), None)
    labels = {int(m["version"]): model_label(m) for m in models}
    if st.session_state.get(f"{K}version") not in versions:
        st.session_state[f"{K}version"] = versions[0]
    pick_col, activate_col, delete_col = st.columns([3, 2, 3], vertical_alignment="bottom")
    version = pick_col.selectbox(
        "Version",
        versions,
        key=f"{K}version",
        format_func=lambda v: f"version {v} · {labels[v]}" + (" (active)" if v == active else ""),
        help="The version to activate, inspect or delete.",
    )
    record = next(m for m in models if int(m["version"]) == version)
    with activate_col:
        st.button(
            f"Activate version {version}",
            key=f"{K}activate",
            disabled=version == active,
            on_click=_activate,
            args=(reservoir, version),
            icon=":material/published_with_changes:",
            help="Use this version for forecasts from now on (you can switch back at any time).",
        )
    with delete_col:
        if version == active:
            st.caption(f"Version {version} is the active model and cannot be deleted; activate another version first.")
        else:
            confirm = st.checkbox(
                f"Yes, delete version {version} and its files",
                key=f"{K}confirm",
                help="Deleting cannot be undone; the version number is never reused.",
            )
            st.button(
                f"Delete version {version}",
                key=f"{K}delete",
                disabled=not confirm,
                on_click=_delete,
                args=(reservoir, version),
                icon=":material/delete:",
                help="Remove this version and its model files. Tick the box above first.",
            )
    with st.expander(f"Settings of version {version} (JSON)", icon=":material/settings:"):
        meta = record.get("meta") or {}
        st.json(meta.get("config") or {}, expanded=True)
        st.caption(f"Files: {record['path']}; checksum sha256 {record['sha256'][:12]}...")


def render() -> None:
    """Page body."""
    reservoir = reservoir_page(
        "Models",
        "Every trained version of this reservoir's forecaster, how well each one did, and which one the "
        "Forecast page uses. Switch back to an earlier version at any time, or delete versions you no longer need.",
    )
    if reservoir is None:
        return
    flash = st.session_state.pop(f"{K}flash", None)
    error = st.session_state.pop(f"{K}error", None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
    if error is not None:
        show_error(error)
    ws = workspace()
    try:
        models = ws.models(reservoir)
    except StoreError as exc:
        show_error(exc)
        return
    if not models:
        st.info("No models yet — train one on the Train page.", icon=":material/info:")
        st.page_link("pages/train.py", label="Go to the Train page", icon=":material/model_training:")
        return
    targets = {(m.get("meta") or {}).get("config", {}).get("target") for m in models}
    unit = None
    if len(targets) == 1:
        try:
            unit = ws.reservoir(reservoir).variable(next(iter(targets))).unit
        except StoreError:
            unit = None
    _table(models, unit)
    if len(targets) > 1:
        st.caption("Versions forecast different readings; their errors are in different units.")
    _actions(reservoir, models)
    st.subheader("Versions compared")
    show_chart(charts.versions_figure(models, unit=unit), f"model-versions-{reservoir}", f"{K}chart")


render()
