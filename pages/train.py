"""Train page: start a training run in the background, follow it live, then judge and activate the new version.

Training runs in its own process (core.app.jobs); this page only starts it, polls the workspace for progress and
shows the result, so a refresh, a page change or a second tab re-attaches to the same run.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pandas as pd
import streamlit as st

from core import charts
from core.app.jobs import COMPARE, TRAIN, eta_seconds, running_job, start_comparison, start_training
from core.app.pipeline import default_features
from core.app.summary import skill_sentence, skill_value
from core.model.architectures import MODEL_NAMES, ZOO
from core.model.splits import SplitConfig
from core.model.train import TrainConfig
from core.store.workspace import ACTIVE_JOB_STATUSES, StoreError, pid_alive
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
TAB_TRAIN, TAB_COMPARE = "Train one model", "Compare models"
KIND_TAB = {TRAIN: TAB_TRAIN, COMPARE: TAB_COMPARE}
MODEL_MESSAGE = re.compile(r"model (\d+) of (\d+): (\S+)")  # core.app.jobs' progress message for a comparison
BAR_METRICS = {"skill": "Test skill", "val_skill": "Validation skill", "mae": "Test error (MAE)"}
MEMBERS_HELP = "The kinds of model to train and rank:\n\n" + "\n".join(
    f"- **{e.label}**: {e.description}" for e in ZOO.values()
)
RANKING_EXPLAINED = (
    "**Ranked on validation, scored on test.** The order (and the recommendation) comes from each model's "
    "errors on the *validation* days, a stretch of the record held back from learning and used only to choose. "
    "The *test* days come after it and took no part in any choice, so their scores are what to expect on days "
    "no model has seen."
)
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


def _form(
    reservoir: str,
    start_label: str = "Start training",
    start_key: str = f"{K}start",
    start_help: str | None = "Train one model with these settings in the background.",
) -> TrainConfig | None:
    """The settings form (shared by training and the model comparison); a checked config when its button is pressed."""
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
        show_error(exc)
        return None


def _stop_button(job: dict[str, Any], label: str, key: str, help_text: str, stopping_text: str) -> None:
    """A Stop button for a running job; the request goes through the store, the job ends after its epoch."""
    stopping = job["stop_requested"]
    if not stopping and st.button(label, key=key, icon=":material/stop:", help=help_text):
        workspace().request_stop(job["id"])
        stopping = True
    if stopping:
        st.info(stopping_text)


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


def _polled_job(job_id: int) -> dict[str, Any]:
    """The job as stored now; once it has ended, a full rerun (on its tab) swaps the live view for the result."""
    ws = workspace()
    job = ws.job(job_id)
    if job["status"] in ACTIVE_JOB_STATUSES and job["pid"] is not None and not pid_alive(int(job["pid"])):
        ws.mark_interrupted()  # the process died without reporting (killed, out of memory): say so
        job = ws.job(job_id)
    if job["status"] not in ACTIVE_JOB_STATUSES:
        st.session_state[f"{K}mode_next"] = KIND_TAB.get(job["kind"], TAB_TRAIN)
        st.rerun()
    return job


@st.fragment(run_every=1)
def _live(job_id: int) -> None:
    """Polls the job once a second and redraws progress; a finished job triggers a full rerun for the result."""
    job = _polled_job(job_id)
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
    _stop_button(
        job,
        "Stop training",
        f"{K}stop",
        "End training after the current epoch and keep the best epoch so far as a new version.",
        "Stopping after the current epoch; the best epoch so far will be saved as a new version.",
    )


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
    """The reservoir's recent training runs and model comparisons, newest first."""
    jobs = workspace().jobs(reservoir)[:JOB_HISTORY_ROWS]
    with st.expander(f"Recent training runs ({len(jobs)})", icon=":material/history:"):
        if not jobs:
            st.caption("No training runs yet for this reservoir.")
            return
        rows = [
            {
                "Job": j["id"],
                "Run": "model comparison" if j["kind"] == COMPARE else "training",
                "Status": j["status"],
                "Started": fmt_time(j["started"] or j["created"]),
                "Finished": fmt_time(j["finished"]),
                "Versions saved": _versions_saved(j),
                "Note": j["message"] or "",
            }
            for j in jobs
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def _versions_saved(job: dict[str, Any]) -> str:
    """'3' for a training run, '4, 5, 6' for a comparison ('' while nothing is saved)."""
    result = job["result"] or {}
    if result.get("version") is not None:
        return str(result["version"])
    rows = [r for r in result.get("models") or [] if isinstance(r, dict)] or result.get("done") or []
    return ", ".join(str(v) for v in sorted(int(r["version"]) for r in rows))


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


# ---------------------------------------------------------------- compare models (the leaderboard)


def _unit(reservoir: str, target: str | None) -> str | None:
    """The target's unit for error columns and axes (None when the reading is gone or has no unit)."""
    try:
        return workspace().reservoir(reservoir).variable(str(target)).unit
    except (StoreError, ValueError, KeyError):
        return None


def _label(model: str) -> str:
    """The zoo member's display name ('Ridge regression'), or the stored name for a member the zoo lost."""
    entry = ZOO.get(model)
    return entry.label if entry else model


def _current_model(job: dict[str, Any], names: list[str], done: int) -> tuple[int, str | None]:
    """Which member is at work: the job's message ('model 3 of 10: lstm'), else the first unfinished one."""
    match = MODEL_MESSAGE.match(job.get("message") or "")
    if match:
        return int(match.group(1)) - 1, match.group(3)
    if done < len(names):
        return done, names[done]
    return max(len(names) - 1, 0), None


def _model_epochs(job: dict[str, Any], index: int) -> list[dict[str, Any]]:
    """The current member's epochs, renumbered from 1 (the job numbers epochs across all members)."""
    out = []
    for e in job["epochs"]:
        logs = e.get("logs") or {}
        if int(logs.get("model_index", -1)) == index:
            out.append({**e, "epoch": int(logs.get("model_epoch") or e["epoch"])})
    return out


def _finished_so_far(done: list[dict[str, Any]], unit: str | None) -> None:
    """The members a running comparison has finished, as saved versions with their validation scores."""
    if not done:
        st.caption("Finished models appear here, one row each.")
        return
    frame = pd.DataFrame(
        [
            {
                "Model": r.get("label") or _label(r["model"]),
                "Version": r.get("version"),
                "Val MAE": r.get("val_mae"),
                "Val skill": r.get("val_skill"),
                "Train (s)": r.get("train_seconds"),
            }
            for r in done
        ]
    )
    suffix = f" ({unit})" if unit else ""
    number = st.column_config.NumberColumn
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "Version": number("Version", format="%d", width=60),
            "Val MAE": number(
                f"Val MAE{suffix}",
                format=number_format(frame["Val MAE"]),
                help="Average error on the validation days, which rank the models.",
                width=90,
            ),
            "Val skill": number(format="percent", help="Above 0 % = better than 'tomorrow = today'.", width=75),
            "Train (s)": number(format="%,.1f", width=70),
        },
    )


def _model_loss_figure(job_id: int, index: int, epochs: list[dict[str, Any]]) -> Any:
    """The current member's loss chart, rebuilt only when it gained an epoch."""
    stamp = (job_id, index, len(epochs))
    cached = st.session_state.get(f"{K}compare_loss_fig")
    if cached is None or cached[0] != stamp:
        cached = (stamp, charts.loss_figure(epochs))
        st.session_state[f"{K}compare_loss_fig"] = cached
    return cached[1]


@st.fragment(run_every=1)
def _live_compare(job_id: int) -> None:
    """Polls a comparison once a second: which model is at work, those already done, the current loss curve."""
    job = _polled_job(job_id)
    names = list(job["params"].get("models") or [])
    total = max(len(names), 1)
    partial = job["result"] or {}
    done = list(partial.get("done") or [])
    index, name = _current_model(job, names, len(done))
    cfg = job["params"].get("config") or {}
    if job["status"] == "queued" or name is None or job["message"] == "preparing data":
        label = "Preparing the data..."
    else:
        label = f"Model {index + 1} of {total}: {_label(name)}"
    st.progress(min(len(done) / total, 1.0), text=label)
    table_col, loss_col = st.columns(2)
    with table_col:
        st.markdown(f"**Finished: {len(done)} of {total}**")
        _finished_so_far(done, _unit(job["reservoir"], cfg.get("target")))
    with loss_col:
        epochs = _model_epochs(job, index) if name is not None else []
        if name is not None:
            max_epochs = int(cfg.get("epochs") or 1)
            if not ZOO[name].epochs:
                st.markdown(f"**{_label(name)}**: fitted in one pass (no epochs).")
            else:
                progress = f"epoch {len(epochs)} of at most {max_epochs}." if epochs else "building the model..."
                st.markdown(f"**{_label(name)}**: {progress}")
        if epochs:
            show_chart(_model_loss_figure(job_id, index, epochs), f"compare-loss-job-{job_id}", f"{K}compare_loss")
    _stop_button(
        job,
        "Stop the comparison",
        f"{K}compare_stop",
        "End after the current epoch: the model at work keeps its best epoch, and the finished ones are ranked.",
        "Stopping after the current epoch; the models finished so far (and the best epoch of the current one) "
        "will be ranked.",
    )


def _compare_running_section(job: dict[str, Any]) -> None:
    """What a running comparison shows, whichever tab or visit started it."""
    cfg = job["params"].get("config") or {}
    n = len(job["params"].get("models") or [])
    st.subheader(f"Comparing {n} models (job #{job['id']})")
    st.caption(
        f"Forecasting {md_escape(cfg.get('target', '?'))}; started {fmt_time(job['started'] or job['created'])}. "
        "Models are trained one after another on the same days. You can leave this page: the comparison "
        "continues and this view comes back when you return."
    )
    _live_compare(int(job["id"]))


def _beats_persistence(rows: list[dict[str, Any]]) -> bool:
    """The verdict's own rule: some learned model has positive skill on the validation days."""
    return any(r["model"] != "persistence" and (r.get("val_skill") or 0) > 0 for r in rows)


def _leaderboard_table(board: dict[str, Any], active: int | None, unit: str | None) -> None:
    """The ranked models with validation and test scores; the recommended (★), default and active rows marked."""
    rows = []
    for r in board["models"]:
        scores = r["metrics"]["model"]
        name = r.get("label") or _label(r["model"])
        if r["model"] == board.get("best"):
            name += " ★"
        default, current = r["model"] == board.get("default"), r["version"] == active
        marks = [m for m, on in (("default", default), ("active", current)) if on]
        rows.append(
            {
                "Rank": r["rank"],
                "Model": name + (f" ({', '.join(marks)})" if marks else ""),
                "Version": r["version"],
                "Val MAE": r.get("val_mae"),
                "Test MAE": scores.get("mae"),
                "RMSE": scores.get("rmse"),
                "NSE": scores.get("nse"),
                "KGE": scores.get("kge"),
                "Skill": r["metrics"].get("skill_vs_persistence"),
                "Train (s)": r.get("train_seconds"),
            }
        )
    frame = pd.DataFrame(rows)
    suffix = f" ({unit})" if unit else ""
    number = st.column_config.NumberColumn
    errors = number_format(frame[["Val MAE", "Test MAE", "RMSE"]].to_numpy().ravel())
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "Rank": number("Rank", help="Order by the validation error (1 = smallest).", width=45),
            "Model": st.column_config.TextColumn(
                help="★ = recommended (best on the validation days); default = the app's standard model; "
                "active = the version forecasts use now.",
                width=200,
            ),
            "Version": number("Ver.", format="%d", help="Each model was saved as a version.", width=45),
            "Val MAE": number(f"Val MAE{suffix}", format=errors, help="Average error on the validation days."),
            "Test MAE": number(f"Test MAE{suffix}", format=errors, help="Average error on the untouched test days."),
            "RMSE": number(f"Test RMSE{suffix}", format=errors, help="Like MAE but large misses weigh more."),
            "NSE": number(
                "NSE", format="%.3f", help="Nash-Sutcliffe efficiency on the test days: 1 is perfect.", width=55
            ),
            "KGE": number(
                "KGE", format="%.3f", help="Kling-Gupta efficiency on the test days: 1 is perfect.", width=55
            ),
            "Skill": number(
                "Test skill",
                format="percent",
                help="Above 0 % = better than 'tomorrow = today' on the test days.",
                width=75,
            ),
            "Train (s)": number(format="%,.1f", help="Seconds it took to train on this machine.", width=70),
        },
    )


def _activate_from_board(reservoir: str, version: int) -> None:
    """Button callback: make a compared version the one forecasts use."""
    try:
        workspace().set_active(reservoir, version)
    except ValueError as exc:
        st.session_state[f"{K}compare_error"] = exc
    else:
        st.session_state[f"{K}compare_flash"] = f"Version {version} is now the active model: forecasts use it."


def _board_activation(reservoir: str, board: dict[str, Any], active: int | None) -> None:
    """Whether the recommended model was made active, and a control to activate any compared version."""
    flash = st.session_state.pop(f"{K}compare_flash", None)
    error = st.session_state.pop(f"{K}compare_error", None)
    rows = {int(r["version"]): r for r in board["models"]}
    best = board["models"][0]
    if flash:
        st.success(flash, icon=":material/check_circle:")
    elif board.get("activated") is not None:
        v = int(board["activated"])
        st.success(
            f"The recommended model ({md_escape(_label(rows[v]['model']) if v in rows else '?')}, version {v}) "
            "was made the active model when the comparison finished: forecasts use it.",
            icon=":material/check_circle:",
        )
    else:
        current = f"version {active}" if active is not None else "no version"
        st.info(
            f"The active model was not changed ({current} is active): the recommended model, "
            f"{md_escape(best.get('label') or _label(best['model']))} (version {best['version']}), did not beat "
            "it on the validation days. Activate any of the compared versions below if you prefer it.",
            icon=":material/info:",
        )
    if error is not None:
        show_error(error)
    existing = {int(m["version"]) for m in workspace().models(reservoir)}
    versions = [v for v in rows if v in existing]
    if not versions:
        st.caption("The compared versions have since been deleted on the Models page.")
        return
    if st.session_state.get(f"{K}compare_version") not in versions:
        st.session_state[f"{K}compare_version"] = versions[0]

    def describe(v: int) -> str:
        r = rows[v]
        notes = [n for n, on in (("recommended", r["model"] == board.get("best")), ("active", v == active)) if on]
        return f"version {v} · {r.get('label') or _label(r['model'])}" + (f" ({', '.join(notes)})" if notes else "")

    pick_col, button_col = st.columns([2, 1], vertical_alignment="bottom")
    version = pick_col.selectbox(
        "Version to activate",
        versions,
        key=f"{K}compare_version",
        format_func=describe,
        help="Any compared model can be the one forecasts use; the Models page can switch back at any time.",
    )
    button_col.button(
        f"Activate version {version}",
        key=f"{K}compare_activate",
        disabled=version == active,
        on_click=_activate_from_board,
        args=(reservoir, int(version)),
        icon=":material/published_with_changes:",
        help="Use this version for forecasts from now on.",
    )


def _board_charts(board: dict[str, Any], unit: str | None, job_id: int) -> None:
    """The leaderboard's four charts: bars per model, error by lead day, observed vs forecast, residuals."""
    st.markdown(
        "**The models side by side**, best on the validation days at the top; the dashed line is the simple guess "
        "'tomorrow = today'. Skill is how much smaller a model's errors are than that guess's."
    )
    if st.session_state.get(f"{K}compare_metric") not in BAR_METRICS:
        st.session_state[f"{K}compare_metric"] = "skill"
    metric = st.segmented_control(
        "Bar length",
        list(BAR_METRICS),
        format_func=BAR_METRICS.get,
        key=f"{K}compare_metric",
        required=True,
        help="Skill on the test days (the honest score), skill on the validation days (which ranked them), "
        "or the plain test error in the reading's unit.",
    )
    show_chart(
        charts.leaderboard_bars(board, metric or "skill", unit=unit),
        f"leaderboard-{metric}-job-{job_id}",
        f"{K}compare_bars",
    )
    st.markdown("**Error by lead day**: how each model's average miss grows the further ahead it looks.")
    show_chart(
        charts.leaderboard_lead_errors(board, unit), f"leaderboard-lead-error-job-{job_id}", f"{K}compare_lead_error"
    )

    st.markdown("**Forecasts against what happened** on the test days, at one lead day.")
    horizon = len((board.get("test") or {}).get("truth", [[None]])[0])
    names = [r["model"] for r in board["models"]]
    if st.session_state.get(f"{K}compare_lead") not in range(1, horizon + 1):
        st.session_state[f"{K}compare_lead"] = horizon  # the last day: where the models differ most
    shown = [m for m in st.session_state.get(f"{K}compare_shown") or [] if m in names]
    if not shown:
        shown = list(dict.fromkeys(m for m in (board.get("best"), board.get("default")) if m in names))
    st.session_state[f"{K}compare_shown"] = shown
    lead_col, models_col = st.columns([1, 2])
    lead = lead_col.select_slider(
        "Lead day",
        list(range(1, horizon + 1)),
        key=f"{K}compare_lead",
        help="How many days ahead the forecasts were made: 1 = the next day.",
    )
    chosen = models_col.multiselect(
        "Models to show",
        names,
        key=f"{K}compare_shown",
        format_func=_label,
        help="Pick a few models to compare their forecasts (the recommended and the default one to start).",
    )
    if not chosen:
        st.caption("Pick at least one model to draw these two charts.")
        return
    scatter_col, residual_col = st.columns(2)
    with scatter_col:
        show_chart(
            charts.observed_vs_predicted(board, chosen, int(lead), unit),
            f"observed-vs-forecast-day{lead}-job-{job_id}",
            f"{K}compare_scatter",
        )
        st.caption("Each dot is one test day; on the dotted 1:1 line the forecast was exactly right.")
    with residual_col:
        show_chart(
            charts.residual_distribution(board, chosen, int(lead), unit, height=460),
            f"forecast-errors-day{lead}-job-{job_id}",
            f"{K}compare_residuals",
        )
        st.caption(
            "Forecast minus what happened (above 0 = too high): the box holds the middle half of the misses, the "
            "line inside is the median and the dashed one the mean; a box centred on 0 means no systematic bias."
        )


def _leaderboard(reservoir: str, job: dict[str, Any]) -> None:
    """A finished comparison: the verdict first, then the ranked table, activation and the charts."""
    board = job["result"]
    rows = board["models"]
    unit = _unit(reservoir, board.get("target"))
    test = (board.get("test") or {}).get("issued") or []
    n_windows = rows[0]["metrics"].get("n_windows") or len(test)
    st.subheader(f"Leaderboard: {len(rows)} models forecasting {md_escape(board.get('target', '?'))}")
    period = f", issued {test[0]} to {test[-1]}" if test else ""
    st.caption(
        f"Job #{job['id']}, finished {fmt_time(job['finished'] or job['created'])}. "
        f"Test scores over {n_windows} forecasts{period}."
    )
    verdict = md_escape(board.get("verdict") or "")
    if _beats_persistence(rows):
        st.info(f"**Verdict**: {verdict}", icon=":material/emoji_events:")
    else:
        st.warning(f"**Verdict**: {verdict}", icon=":material/warning:")
    for failure in board.get("failed") or []:
        st.warning(
            f"{md_escape(_label(failure['model']))} could not be trained here: {md_escape(failure['error'])}",
            icon=":material/warning:",
        )
    st.markdown(RANKING_EXPLAINED)
    active = next((int(m["version"]) for m in workspace().models(reservoir) if m["active"]), None)
    _leaderboard_table(board, active, unit)
    _board_activation(reservoir, board, active)
    _board_charts(board, unit, int(job["id"]))


def _compare_outcome(reservoir: str, job: dict[str, Any]) -> None:
    """The latest comparison: its leaderboard, or why it has none (and what it saved before it ended)."""
    when = fmt_time(job["finished"] or job["created"])
    status = job["status"]
    result = job.get("result") or {}
    what = f"The last model comparison (job #{job['id']}, {when})"
    if status == "failed":
        st.error(f"{what} failed: {md_escape(job['message'])}", icon=":material/error:")
    elif status == "interrupted":
        st.warning(f"{what} was interrupted: {md_escape(job['message'])}", icon=":material/warning:")
    elif status == "stopped":
        n = len(result.get("models") or [])
        total = len(job["params"].get("models") or [])
        st.info(
            f"{what} was stopped by you after {n} of {total} models; the finished ones are ranked below.",
            icon=":material/stop_circle:",
        )
    if "verdict" in result:
        _leaderboard(reservoir, job)
        return
    done = result.get("done") or []
    if done:
        names = ", ".join(f"{md_escape(r.get('label') or _label(r['model']))} (version {r['version']})" for r in done)
        st.caption(f"Saved before it ended, and listed on the Models page: {names}.")


def _start_compare(reservoir: str) -> None:
    """Pick the zoo members, reuse the training settings, start the comparison in the background."""
    if f"{K}compare_models" not in st.session_state:
        st.session_state[f"{K}compare_models"] = list(MODEL_NAMES)
    picked = st.multiselect(
        "Models to compare",
        list(MODEL_NAMES),
        key=f"{K}compare_models",
        format_func=_label,
        help=MEMBERS_HELP,
    )
    st.caption(
        "Each model is trained with the settings below, on the same days, and saved as a version. The neural "
        "networks take longest; the whole set takes several times as long as one training run."
    )
    config = _form(
        reservoir,
        f"Compare {len(picked)} model{'s' if len(picked) != 1 else ''}",
        f"{K}compare_start",
        "Train the chosen models one after another in the background and rank them.",
    )
    if config is None:
        return
    if not picked:
        show_error(ValueError("Pick at least one model to compare."))
        return
    try:
        start_comparison(workspace(), reservoir, config, picked)
    except ValueError as exc:
        show_error(exc)
        return
    st.session_state[f"{K}mode_next"] = TAB_COMPARE
    st.rerun()


# ---------------------------------------------------------------- page


def _latest(jobs: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    return next((j for j in jobs if j["kind"] == kind), None)


def _train_tab(reservoir: str, running: dict[str, Any] | None, jobs: list[dict[str, Any]]) -> None:
    """One model: the latest training result, then the form for a new run."""
    if running is not None:
        with st.expander("Settings for another run", icon=":material/tune:"):
            _start(reservoir)
        return
    last = _latest(jobs, TRAIN)
    if last is not None:  # the latest run's outcome first: it is what the operator came back for
        _last_outcome(reservoir, last)
        st.divider()
        st.subheader("New training run")
    _start(reservoir)


def _compare_tab(reservoir: str, running: dict[str, Any] | None, jobs: list[dict[str, Any]]) -> None:
    """The model zoo: the latest leaderboard, then the form for a new comparison."""
    if running is not None:
        with st.expander("Settings for another comparison", icon=":material/tune:"):
            _start_compare(reservoir)
        return
    last = _latest(jobs, COMPARE)
    if last is not None:
        _compare_outcome(reservoir, last)
        st.divider()
        st.subheader("New comparison")
    else:
        st.markdown(
            "Train several kinds of model on the same days and see which forecasts this reservoir best, "
            "next to the simple guess 'tomorrow = today'. Every model is saved as a version you can activate."
        )
    _start_compare(reservoir)


def _pick_tab(reservoir: str, running: dict[str, Any] | None, jobs: list[dict[str, Any]]) -> None:
    """Open the tab of the job the operator is most likely back for (the running or the latest one)."""
    wanted = st.session_state.pop(f"{K}mode_next", None)
    if st.session_state.get(f"{K}mode_for") != reservoir:
        latest = running or (jobs[0] if jobs else None)
        wanted = wanted or KIND_TAB.get(latest["kind"] if latest else TRAIN, TAB_TRAIN)
        st.session_state[f"{K}mode_for"] = reservoir
    if wanted:
        st.session_state[f"{K}mode"] = wanted


def render() -> None:
    """Page body."""
    reservoir = reservoir_page(
        "Train",
        "Teach a forecaster on this reservoir's stored readings, or compare several kinds of model on the same "
        "days. Training runs in the background, usually a few minutes; every model is scored against the "
        "simple guess 'tomorrow = today'.",
    )
    if reservoir is None:
        return
    ws = workspace()
    running = running_job(ws, reservoir)  # from the store, so a refresh or another tab finds the run too
    jobs = ws.jobs(reservoir)
    if running is not None:
        if running["kind"] == COMPARE:
            _compare_running_section(running)
        else:
            _running_section(running)
    _pick_tab(reservoir, running, jobs)
    train_tab, compare_tab = st.tabs([TAB_TRAIN, TAB_COMPARE], key=f"{K}mode", on_change="rerun")
    if train_tab.open:
        with train_tab:
            _train_tab(reservoir, running, jobs)
    if compare_tab.open:
        with compare_tab:
            _compare_tab(reservoir, running, jobs)
    _history(reservoir)


render()
