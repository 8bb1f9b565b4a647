"""Models page: every saved version of a reservoir's forecaster, which one is used, rollback and clean-up."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core import charts, display
from core.app.serving import model_label
from core.app.summary import SKILL_FORMAT, model_skill, skill_percent
from core.model.leaderboard import Skill
from core.store.workspace import ModelVersion, StoreError
from pages import common as ui

K = "models_"  # widget key prefix: stable keys that tests set by name
MAX_TABLE_HEIGHT = 423  # px: ten rows and the header; more versions scroll under the fixed header
# Shown left to right: with several kinds of model (the zoo) which model a version is matters as much as its
# scores, so it comes right after the version and its active flag; creation time and the rest scroll into view.
SHOWN_ORDER = (
    "Version",
    "Active",
    "Model",
    "Skill",
    "RMSE skill",
    "Test MAE",
    "Target",
    "Covariates",
    "Data range",
    "Created",
    "Val MAE",
    "Epochs",
    "Train time (s)",
)


def _row(m: ModelVersion) -> dict[str, Any]:
    """One table row from a stored version (missing numbers stay empty)."""
    first, last = m.data_range or (None, None)
    return {  # the columns that fit at 1280 px first; epochs, train time, model name and val MAE after
        "Version": m.version,
        "Active": m.active,
        "Skill": skill_percent(model_skill(m)),
        "RMSE skill": skill_percent(Skill.of(m.metrics).rmse),
        "Test MAE": (m.metrics.get("model") or {}).get("mae"),
        "Target": m.target or None,
        "Covariates": ", ".join(m.features) or "-",
        "Data range": f"{first} to {last}",
        "Created": ui.fmt_time(m.created).removesuffix(" UTC"),
        "Val MAE": m.val_mae,
        "Epochs": m.epochs_run,
        "Train time (s)": m.train_seconds,
        "Model": model_label(m.model or "?"),
    }


def table_order(models: list[ModelVersion]) -> list[ModelVersion]:
    """The active version first (never below the fold, however many versions there are), then newest first."""
    return sorted(models, key=lambda m: (not m.active, -m.version))


def _highlight_active(row: pd.Series) -> list[str]:
    """The active version's row tinted, so it stands out wherever the table is scrolled."""
    return [ui.ACTIVE_ROW if row["Active"] else ""] * len(row)


def _table(models: list[ModelVersion], unit: str | None) -> None:
    """All versions, the active one first and tinted, then newest first; the unit on the error values."""
    number = st.column_config.NumberColumn
    frame = pd.DataFrame([_row(m) for m in table_order(models)])
    ui.show_table(
        frame.style.apply(_highlight_active, axis=1),
        height=min(38 + 35 * len(frame), MAX_TABLE_HEIGHT),
        column_order=[c for c in SHOWN_ORDER if c in frame.columns],
        column_config={
            "Version": number("Ver.", help="Version number; the newest is on top.", width=50),
            "Active": st.column_config.CheckboxColumn(help="The version forecasts use.", width=55),
            "Skill": number(
                "Skill",
                format=SKILL_FORMAT,
                help="Skill vs persistence on the average error (MAE): above 0 % = better than assuming "
                "'tomorrow = today'.",
                width=70,
            ),
            "RMSE skill": number(
                "RMSE skill",
                format=SKILL_FORMAT,
                help="The same on RMSE, where large misses weigh more: at or below 0 % the version is no better "
                "than 'tomorrow = today' on the days that move most.",
                width=90,
            ),
            "Test MAE": number(
                "Test MAE",
                format=display.printf_format(frame["Test MAE"], unit),
                help="Average error on the untouched test days, in the reading's unit.",
            ),
            "Target": st.column_config.TextColumn(help="The reading the version forecasts.", width=70),
            "Covariates": st.column_config.TextColumn(help="Other readings the version uses."),
            "Data range": st.column_config.TextColumn(help="First and last day of the readings it learned from."),
            "Created": st.column_config.TextColumn("Created (UTC)", help="When the version was trained (UTC)."),
            "Val MAE": number(
                "Val MAE",
                format=display.printf_format(frame["Val MAE"], unit),
                help="Average error on the validation days (picks the active one).",
            ),
            "Train time (s)": number(format="%,.0f"),
            "Model": st.column_config.TextColumn(
                help="The kind of model (compare kinds on the Train page).", width=170
            ),
        },
    )


def _delete(reservoir: str, version: int) -> None:
    """Button callback: remove an inactive version and its files (the store refuses the active one)."""
    try:
        ui.workspace().delete_version(reservoir, version)
    except ValueError as exc:
        ui.flash(f"{K}flash", exc)
    else:
        ui.flash(f"{K}flash", f"Version {version} and its files were deleted.")
    st.session_state[f"{K}confirm"] = False


def _actions(reservoir: str, models: list[ModelVersion]) -> None:
    """Pick a version, see its settings, activate or delete it."""
    versions = [m.version for m in reversed(models)]
    active = next((m.version for m in models if m.active), None)
    labels = {m.version: model_label(m.model or "?") for m in models}
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
    record = next(m for m in models if m.version == version)
    if not ui.allowed("activate", "Activating or deleting a version", activate_col):
        _settings(record, labels[version])
        return
    with activate_col:
        st.button(
            f"Activate version {version}",
            key=f"{K}activate",
            disabled=version == active,
            on_click=ui.activate_version,
            args=(reservoir, version, f"{K}flash"),
            icon=":material/published_with_changes:",
            help="Use this version for forecasts from now on (you can switch back at any time).",
        )
    with delete_col:
        if not ui.allowed("delete_version", "Deleting a version"):
            pass
        elif version == active:
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
    _settings(record, labels[version])


def _settings(record: ModelVersion, label: str) -> None:
    """A version's saved settings and files, for anyone who may read."""
    with st.expander(f"Settings of version {record.version} · {label} (JSON)", icon=":material/settings:"):
        st.json(record.config, expanded=True)
        st.caption(f"Files: {record.path}; checksum sha256 {record.sha256[:12]}...")


def render() -> None:
    """Page body."""
    reservoir = ui.reservoir_page(
        "Models",
        "Every trained version of this reservoir's forecaster, how well each one did, and which one the "
        "Forecast page uses. Switch back to an earlier version at any time, or delete versions you no longer need.",
    )
    if reservoir is None:
        return
    ui.show_flash(f"{K}flash")  # what Activate or Delete did
    ws = ui.workspace()
    try:
        models = ws.versions(reservoir)
    except StoreError as exc:
        ui.show_error(exc)
        return
    if not models:
        ui.point_to("train", "No models yet — train one on the Train page.", icon=":material/info:")
        return
    targets = {m.target for m in models}
    unit = ui.unit_of(reservoir, next(iter(targets))) if len(targets) == 1 else None
    _table(models, unit)
    if len(targets) > 1:
        st.caption("Versions forecast different readings; their errors are in different units.")
    _actions(reservoir, models)
    st.subheader("Versions compared")
    records = [m.to_dict() for m in models]  # the charts read the stored record form
    ui.show_chart(charts.versions_figure(records, unit=unit), f"model-versions-{reservoir}", f"{K}chart")


if __name__ == "__main__":  # run by st.navigation (module name __main__), not on import by tests
    ui.run_page(render)
