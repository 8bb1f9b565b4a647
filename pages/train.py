"""Train page: start a training run in the background, follow it live, then judge and activate the new version.

Training runs in its own process (core.jobs); this page only starts it, polls the workspace for progress and
shows the result, so a refresh, a page change or a second tab re-attaches to the same run.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from core import charts
from core.jobs import eta_seconds, running_job, start_training
from core.pipeline import default_features
from core.splits import SplitConfig
from core.store import ACTIVE_JOB_STATUSES, StoreError, pid_alive
from core.summary import skill_sentence, skill_value
from core.train import TrainConfig
from pages.common import (
    ensure_shell,
    fmt_time,
    md_escape,
    number_format,
    reservoir_page,
    show_chart,
    show_error,
    workspace,
)

ensure_shell()  # a bookmarked page URL after a restart still goes through app.py

K = "train_"  # widget key prefix: stable keys that tests set by name
DEFAULTS = TrainConfig(target="level")
STATE_VARIABLES = ("level", "storage")
JOB_HISTORY_ROWS = 8
SKILL_EXPLAINED = (
    "**Skill vs persistence** compares the model's average error with the error of simply assuming "
    "*tomorrow = today* (the level stays where it is): 25 % means its errors are a quarter smaller, 0 % or below "
    "means the model is no better than that guess."
)


def _reset_form(reservoir: str, variables: tuple[str, ...]) -> None:
    """Fill the form with this reservoir's defaults (first visit, or the sidebar switched reservoir)."""
    target = next((v for v in STATE_VARIABLES if v in variables), variables[0])
    st.session_state[f"{K}target"] = target
    st.session_state[f"{K}features"] = list(default_features(workspace(), reservoir, target))
    st.session_state[f"{K}for"] = reservoir


def _target_changed() -> None:
    """A new target gets its own default covariates (never the target itself)."""
    reservoir = st.session_state.get(f"{K}for")
    target = st.session_state[f"{K}target"]
    st.session_state[f"{K}features"] = list(default_features(workspace(), reservoir, target))


def _form(reservoir: str) -> TrainConfig | None:
    """The settings form; returns a checked config when Start is pressed, None otherwise."""
    info = workspace().reservoir(reservoir)
    variables = info.variable_names
    if not variables:
        st.info("This reservoir has no readings yet. Upload some on the Data page.")
        st.page_link("pages/data.py", label="Go to the Data page", icon=":material/upload_file:")
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
    start = st.button("Start training", type="primary", key=f"{K}start", icon=":material/play_arrow:")
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
        show_error(exc)
        return None


def _eta_text(job: dict[str, Any]) -> str:
    """Time left in words; early stopping usually ends a run sooner."""
    seconds = eta_seconds(job)
    if seconds is None:
        return "Time left: estimated after the first epoch."
    if seconds < 90:
        left = f"about {seconds:.0f} s"
    elif seconds < 5400:
        left = f"about {seconds / 60:.0f} min"
    else:
        left = f"about {seconds / 3600:.1f} h"
    return f"Time left: at most {left} (early stopping usually ends sooner)."


def _loss_figure(job_id: int, epochs: list[dict[str, Any]]) -> Any:
    """The live loss chart, rebuilt only when a new epoch arrived (the poller redraws it every second)."""
    stamp = (job_id, len(epochs))
    cached = st.session_state.get(f"{K}loss_fig")
    if cached is None or cached[0] != stamp:
        cached = (stamp, charts.loss_figure(epochs))
        st.session_state[f"{K}loss_fig"] = cached
    return cached[1]


@st.fragment(run_every=1)
def _live(job_id: int) -> None:
    """Polls the job once a second and redraws progress; a finished job triggers a full rerun for the result."""
    ws = workspace()
    job = ws.job(job_id)
    if job["status"] in ACTIVE_JOB_STATUSES and job["pid"] is not None and not pid_alive(int(job["pid"])):
        ws.mark_interrupted()  # the process died without reporting (killed, out of memory): say so
        job = ws.job(job_id)
    if job["status"] not in ACTIVE_JOB_STATUSES:
        st.rerun()  # full rerun: the result section replaces the live view
    total = int((job["params"].get("config") or {}).get("epochs") or 1)
    done = len(job["epochs"])
    if job["status"] == "queued" or (not done and job["message"] == "preparing data"):
        label = "Preparing the data and building the model..."
    else:
        label = f"Epoch {done} of {total}"
    st.progress(min(done / total, 1.0), text=label)
    st.caption(_eta_text(job))
    if job["epochs"]:
        show_chart(_loss_figure(job_id, job["epochs"]), f"training-loss-job-{job_id}", f"{K}loss_live")
    stopping = job["stop_requested"]
    if not stopping and st.button(
        "Stop training",
        key=f"{K}stop",
        icon=":material/stop:",
        help="End training after the current epoch and keep the best epoch so far as a new version.",
    ):
        ws.request_stop(job_id)
        stopping = True
    if stopping:
        st.info("Stopping after the current epoch; the best epoch so far will be saved as a new version.")


def _running_section(job: dict[str, Any]) -> None:
    """What a running (or queued) job shows, whichever tab or visit started it."""
    cfg = job["params"].get("config") or {}
    covariates = ", ".join(md_escape(f) for f in cfg.get("features") or []) or "no other readings"
    st.subheader(f"Training in progress (job #{job['id']})")
    st.caption(
        f"Forecasting {md_escape(cfg.get('target', '?'))} from {covariates}; "
        f"started {fmt_time(job['started'] or job['created'])}. "
        "You can leave this page: training continues and this view comes back when you return."
    )
    _live(int(job["id"]))


def _metric_row(name: str, scores: dict[str, Any], skill: Any = None) -> dict[str, Any]:
    """One row of the metrics table (missing numbers stay empty)."""
    return {
        "": name,
        "MAE": scores.get("mae"),
        "RMSE": scores.get("rmse"),
        "NSE": scores.get("nse"),
        "KGE": scores.get("kge"),
        "Skill vs persistence": skill,
    }


def _metrics_table(rows: list[dict[str, Any]], unit: str | None) -> None:
    """Error table: MAE/RMSE in the target's unit, NSE/KGE unitless (1 is perfect)."""
    suffix = f" ({unit})" if unit else ""
    number = st.column_config.NumberColumn
    frame = pd.DataFrame(rows)
    error_format = number_format(frame[["MAE", "RMSE"]].to_numpy().ravel())  # one rule for both error columns
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "MAE": number(f"MAE{suffix}", format=error_format, help="Mean absolute error over all lead days."),
            "RMSE": number(f"RMSE{suffix}", format=error_format, help="Like MAE but large misses weigh more."),
            "NSE": number("NSE", format="%.3f", help="Nash-Sutcliffe efficiency: 1 is perfect, 0 = the mean."),
            "KGE": number("KGE", format="%.3f", help="Kling-Gupta efficiency: 1 is perfect."),
            "Skill vs persistence": number(format="percent", help="Above 0 % = better than 'tomorrow = today'."),
        },
    )


def _advice(reservoir: str, result: dict[str, Any]) -> str:
    """What an operator can try when the model loses to persistence: unused readings first, then more data."""
    used = {result.get("target"), *(result.get("features") or [])}
    unused = [v for v in workspace().reservoir(reservoir).variable_names if v not in used]
    more = "import more years of history, or try a longer history window."
    if unused:
        names = ", ".join(md_escape(v) for v in unused)
        return f"Try adding the readings it does not use yet ({names}) as covariates, {more}"
    return f"Try importing readings that drive the level (inflow, outflow, rainfall) as covariates, {more}"


def _activate_button(reservoir: str, version: int) -> None:
    """Offer to make the new version the one used for forecasts."""
    ws = workspace()
    try:
        record = ws.model(reservoir, version)
    except StoreError:
        st.info(f"Version {version} has since been deleted.")
        return
    if record["active"]:
        st.success(f"Version {version} is the active model: forecasts use it.", icon=":material/check_circle:")
        return
    st.caption(
        f"Version {version} is not active (it did not score better on the validation days than the active one). "
        "Activate it if you prefer it."
    )
    if st.button(f"Activate version {version}", key=f"{K}activate", icon=":material/published_with_changes:"):
        try:
            ws.set_active(reservoir, version)
        except ValueError as exc:
            show_error(exc)
            return
        st.rerun()


def _comparison(comparison: dict[str, Any], unit: str | None) -> None:
    """Champion (old active) vs challenger (new) scored on the same recent window."""
    start, end = comparison["window"]
    st.markdown(f"**Old vs new model on the same days** (forecasts issued {start} to {end})")
    rows = []
    for side, label in (("champion", "Old (was active)"), ("challenger", "New")):
        s = comparison[side]
        rows.append(_metric_row(f"{label}: version {s['version']}", s, s.get("skill_vs_persistence")))
    _metrics_table(rows, unit)
    days = comparison.get("champion_trained_on_window_days") or 0
    if days:
        st.caption(f"Note: the old model saw {days} of these days while training, which flatters it.")
    better = comparison.get("better")
    st.markdown(f"Better on these days: **{'the new model' if better == 'challenger' else 'the old model'}**.")


def _result_section(reservoir: str, job: dict[str, Any]) -> None:
    """Scores of the version a finished job saved, next to persistence and the active version."""
    result = job["result"] or {}
    version = int(result["version"])
    ws = workspace()
    unit = ws.reservoir(reservoir).variable(result["target"]).unit
    metrics = result["metrics"]
    skill = skill_value(metrics.get("skill_vs_persistence"))
    st.subheader(f"Result: version {version}")
    how = "stopped by you; the best epoch so far was kept" if result.get("stopped_by_user") else "finished"
    test = result["splits"]["test"]
    st.caption(
        f"Training {how}: {result['epochs_run']} epochs (best: {result['best_epoch']}) in "
        f"{result['train_seconds']:.0f} s. Scored on {metrics['n_windows']} forecasts issued "
        f"{test[0]} to {test[1]}, days the model never saw while learning."
    )
    rows = [
        _metric_row(f"New model (version {version})", metrics["model"], skill),
        _metric_row("Persistence ('tomorrow = today')", metrics["persistence"], 0.0),
    ]
    active = next((m for m in ws.models(reservoir) if m["active"]), None)
    own_period = None
    if active is not None and int(active["version"]) != version and not result.get("comparison"):
        am = active["meta"]["metrics"]
        own_period = am.get("test_period") or active["meta"]["data"]["splits"]["test"]
        mark = "" if list(own_period) == list(test) else "*"
        label = f"Active model (version {active['version']}){mark}"
        rows.append(_metric_row(label, am["model"], am.get("skill_vs_persistence")))
    _metrics_table(rows, unit)
    if own_period is not None and list(own_period) != list(test):
        st.caption(f"*Scored on its own test period ({own_period[0]} to {own_period[1]}), so compare with care.")
    st.markdown(SKILL_EXPLAINED)
    if skill is None or skill <= 0:
        st.warning(
            f"This model does not beat 'tomorrow = today' on {md_escape(reservoir)}. {skill_sentence(skill)} "
            + _advice(reservoir, result),
            icon=":material/warning:",
        )
    else:
        st.success(skill_sentence(skill), icon=":material/trending_up:")
    if result.get("comparison"):
        _comparison(result["comparison"], unit)
    st.markdown("**Error by lead day**: how the average miss grows the further ahead the forecast looks.")
    show_chart(charts.lead_error_figure(metrics, unit=unit), f"lead-error-v{version}", f"{K}lead_error")
    _activate_button(reservoir, version)


def _last_outcome(reservoir: str, job: dict[str, Any]) -> None:
    """The latest finished job: its result, or why it has none."""
    when = fmt_time(job["finished"] or job["created"])
    status = job["status"]
    if status == "failed":
        st.error(
            f"The last training run (job #{job['id']}, {when}) failed: {md_escape(job['message'])}",
            icon=":material/error:",
        )
    elif status == "interrupted":
        st.warning(
            f"The last training run (job #{job['id']}, {when}) was interrupted: {md_escape(job['message'])}",
            icon=":material/warning:",
        )
    if job.get("result"):
        _result_section(reservoir, job)


def _history(reservoir: str) -> None:
    """The reservoir's recent training runs, newest first."""
    jobs = workspace().jobs(reservoir)[:JOB_HISTORY_ROWS]
    with st.expander(f"Recent training runs ({len(jobs)})", icon=":material/history:"):
        if not jobs:
            st.caption("No training runs yet for this reservoir.")
            return
        rows = [
            {
                "Job": j["id"],
                "Status": j["status"],
                "Started": fmt_time(j["started"] or j["created"]),
                "Finished": fmt_time(j["finished"]),
                "Version": (j["result"] or {}).get("version"),
                "Note": j["message"] or "",
            }
            for j in jobs
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def _start(reservoir: str) -> None:
    """The form and its Start button; a second run on a busy reservoir is refused by the store."""
    config = _form(reservoir)
    if config is None:
        return
    try:
        start_training(workspace(), reservoir, config)
    except ValueError as exc:
        show_error(exc)
        return
    st.rerun()


def render() -> None:
    """Page body."""
    reservoir = reservoir_page(
        "Train",
        "Teach a forecaster on this reservoir's stored readings. Training runs in the background, "
        "usually a few minutes; the new model is scored against the simple guess 'tomorrow = today'.",
    )
    if reservoir is None:
        return
    ws = workspace()
    job = running_job(ws, reservoir)  # from the store, so a refresh or another tab finds the run too
    if job is not None:
        _running_section(job)
        with st.expander("Settings for another run", icon=":material/tune:"):
            _start(reservoir)
    else:
        finished = ws.jobs(reservoir)
        if finished:  # the latest run's outcome first: it is what the operator came back for
            _last_outcome(reservoir, finished[0])
            st.divider()
            st.subheader("New training run")
        _start(reservoir)
    _history(reservoir)


render()
