"""Train page: start a training run in the background, follow it live, then judge and activate the new version.

Training runs in its own process (core.app.jobs); this page only starts it, polls the workspace for progress and
shows the result, so a refresh, a page change or a second tab re-attaches to the same run. The "Compare models" tab
is pages/train_compare.py; the settings form both tabs use is pages/train_form.py.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core import charts, display
from core.app.fleetjob import FLEET_JOB
from core.app.jobs import COMPARE, FIRST_ONLY, TRAIN, eta_seconds, running_job, start_training
from core.app.pipeline import TrainSummary
from core.app.serving import model_label
from core.app.summary import SKILL_FORMAT, skill_percent, skill_value
from core.model.leaderboard import Skill, judge
from core.store.workspace import Job, ModelVersion, StoreError
from pages import common as ui
from pages.train_compare import compare_running_section, compare_tab
from pages.train_fleet import fleet_tab
from pages.train_form import settings_form
from pages.train_jobs import (
    KIND_TAB,
    TAB_COMPARE,
    TAB_FLEET,
    TAB_TRAIN,
    K,
    history_title,
    job_tab,
    latest_job,
    loss_figure,
    outside_words,
    polled_job,
    stop_button,
    versions_outside_jobs,
)

JOB_HISTORY_ROWS = 8
RUN_WORDS = {COMPARE: "model comparison", FLEET_JOB: "fleet training (all reservoirs)"}


def skill_explained(target: str) -> str:
    """What skill vs persistence means, in the words of the variable the model forecasts (storage, level...)."""
    return (
        "**Skill vs persistence** compares the model's average error with the error of simply assuming "
        f"*tomorrow = today* (the {target} stays where it is): 25 % means its errors are a quarter smaller, 0 % or "
        "below means the model is no better than that guess. RMSE skill does the same with large misses weighing "
        "more."
    )


def _eta_text(job: Job) -> str:
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


@st.fragment(run_every=1)
def _live(job_id: int) -> None:
    """Polls the job once a second and redraws progress; a finished job triggers a full rerun for the result."""
    job = polled_job(job_id)
    total = int(job.config.get("epochs") or 1)
    done = len(job.epochs)
    if job.status == "queued" or (not done and job.message == "preparing data"):
        label = "Preparing the data and building the model..."
    else:
        label = f"Epoch {done} of {total}"
    st.progress(min(done / total, 1.0), text=label)
    st.caption(_eta_text(job))
    if job.epochs:
        figure = loss_figure(f"{K}loss_fig", (job_id, len(job.epochs)), job.epochs)
        ui.show_chart(figure, f"training-loss-job-{job_id}", f"{K}loss_live")
    stop_button(
        job,
        "Stop training",
        f"{K}stop",
        "End training after the current epoch and keep the best epoch so far as a new version.",
        "Stopping after the current epoch; the best epoch so far will be saved as a new version.",
    )


def job_model(job: Job) -> str:
    """The model a job trains, in words: the member's name, or how many a comparison ranks."""
    if job.kind == COMPARE:
        n = len(job.params.get("models") or [])
        return f"{n} model{'s' if n != 1 else ''} compared"
    if job.kind == FLEET_JOB:
        return "fleet model (all reservoirs)"
    return model_label(str((job.config.get("model") or {}).get("name") or "?"))


def _running_section(job: Job) -> None:
    """What a running (or queued) job shows, whichever tab or visit started it."""
    cfg = job.config
    covariates = ", ".join(ui.md_escape(f) for f in cfg.get("features") or []) or "no other readings"
    st.subheader(f"Training in progress (job #{job.id})")
    st.caption(
        f"{ui.md_escape(job_model(job))}, forecasting {ui.md_escape(cfg.get('target', '?'))} from {covariates}; "
        f"started {ui.fmt_time(job.started or job.created)}. "
        "You can leave this page: training continues and this view comes back when you return."
    )
    _live(job.id)


def _metric_row(name: str, scores: dict[str, Any], skill: Any = None) -> dict[str, Any]:
    """One row of the metrics table (missing numbers stay empty)."""
    return {
        "": name,
        "MAE": scores.get("mae"),
        "RMSE": scores.get("rmse"),
        "NSE": scores.get("nse"),
        "KGE": scores.get("kge"),
        "Skill vs persistence": skill_percent(skill),
    }


def _metrics_table(rows: list[dict[str, Any]], unit: str | None) -> None:
    """Error table: MAE/RMSE in the target's unit, NSE/KGE unitless (1 is perfect)."""
    suffix = f" ({unit})" if unit else ""
    number = st.column_config.NumberColumn
    frame = pd.DataFrame(rows)
    error_format = display.printf_format(frame[["MAE", "RMSE"]].to_numpy().ravel())  # one rule for both error columns
    ui.show_table(
        frame,
        column_config={
            "MAE": number(f"MAE{suffix}", format=error_format, help="Mean absolute error over all lead days."),
            "RMSE": number(f"RMSE{suffix}", format=error_format, help="Like MAE but large misses weigh more."),
            "NSE": number("NSE", format="%.3f", help="Nash-Sutcliffe efficiency: 1 is perfect, 0 = the mean."),
            "KGE": number("KGE", format="%.3f", help="Kling-Gupta efficiency: 1 is perfect."),
            "Skill vs persistence": number(format=SKILL_FORMAT, help="Above 0 % = better than 'tomorrow = today'."),
        },
    )


def _advice(reservoir: str, result: TrainSummary) -> str:
    """What an operator can try when the model loses to persistence: unused readings first, then more data."""
    used = {result.target, *result.features}
    unused = [v for v in ui.workspace().reservoir(reservoir).variable_names if v not in used]
    more = "import more years of history, or try a longer history window."
    if unused:
        names = ", ".join(ui.md_escape(v) for v in unused)
        return f"Try adding the readings it does not use yet ({names}) as covariates, {more}"
    return f"Try importing readings that drive the level (inflow, outflow, rainfall) as covariates, {more}"


def _recommendation(reservoir: str, record: ModelVersion, active: ModelVersion | None) -> str:
    """Whether to activate a new, inactive version: only beyond noise (core.model.leaderboard.judge), in words."""
    version = record.version
    if active is None:
        return f"**Recommended: activate version {version}.** No version is active, so nothing forecasts yet."
    unit = ui.unit_of(reservoir, record.target)
    if record.val_mae is None or active.val_mae is None:
        return f"Version {version} is not active; version {active.version} (active) has no validation score to compare."
    challenge = judge(active.val_mae, record.val_mae)
    if challenge.meaningful:
        return (
            f"**Recommended: activate version {version}.** Against the active version {active.version}: "
            f"{ui.md_escape(challenge.words(unit))}. The dashboard never changes the model forecasts use without you."
        )
    return (
        f"Version {version} is not active. Against the active version {active.version}: "
        f"{ui.md_escape(challenge.words(unit))}, so keeping version {active.version} is recommended. Activate it if "
        "you prefer it anyway; the dashboard never changes the model forecasts use without you."
    )


def _activate_button(reservoir: str, job: Job, result: TrainSummary) -> None:
    """Say whether the new version is the one forecasts use; if not, recommend and offer to activate it."""
    ws = ui.workspace()
    version = result.version
    try:
        record = ws.version(reservoir, version)
    except StoreError:
        st.info(f"Version {version} has since been deleted.")
        return
    if record.active:
        first = result.active and job.params.get("activate") == FIRST_ONLY
        why = (
            f" It became active by itself as the first model of {ui.md_escape(reservoir)}; later runs are only "
            "recommended, and you decide whether to activate them."
            if first
            else ""
        )
        st.success(f"Version {version} is the active model: forecasts use it.{why}", icon=":material/check_circle:")
        return
    st.markdown(_recommendation(reservoir, record, ws.active_version(reservoir)))
    if not ui.allowed("activate", "Activating a version"):
        return
    if st.button(f"Activate version {version}", key=f"{K}activate", icon=":material/published_with_changes:"):
        try:
            ws.activate(reservoir, version)
        except ValueError as exc:
            ui.show_error(exc)
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
    better = "the new model" if comparison.get("better") == "challenger" else "the old model"
    if comparison.get("meaningful", True):  # comparisons stored before the noise rule: as they were said
        st.markdown(f"Better on these days: **{better}**.")
    else:
        st.markdown(f"**No meaningful difference** on these days: {ui.md_escape(comparison.get('difference', ''))}.")


def _result_section(reservoir: str, job: Job) -> None:
    """Scores of the version a finished job saved, next to persistence and the active version."""
    result = TrainSummary.from_dict(job.result or {})
    version = result.version
    ws = ui.workspace()
    unit = ws.reservoir(reservoir).variable(result.target).unit
    metrics = result.metrics
    skill = skill_value(metrics.get("skill_vs_persistence"))
    said = Skill.of(metrics)
    st.subheader(f"Result: version {version} · {ui.md_escape(model_label(result.model or '?'))}")
    how = "stopped by you; the best epoch so far was kept" if result.stopped_by_user else "finished"
    test = result.splits["test"]
    st.caption(
        f"Training {how}: {result.epochs_run} epochs (best: {result.best_epoch}) in "
        f"{result.train_seconds:.0f} s. Scored on {metrics['n_windows']} forecasts issued "
        f"{test[0]} to {test[1]}, days the model never saw while learning."
    )
    rows = [
        _metric_row(f"New model (version {version})", metrics["model"], skill),
        _metric_row("Persistence ('tomorrow = today')", metrics["persistence"], 0.0),
    ]
    active = ws.active_version(reservoir)
    own_period = None
    if active is not None and active.version != version and not result.comparison:
        own_period = active.test_period
        mark = "" if own_period is None or list(own_period) == list(test) else "*"
        label = f"Active model (version {active.version}){mark}"
        rows.append(_metric_row(label, active.metrics.get("model") or {}, active.metrics.get("skill_vs_persistence")))
    _metrics_table(rows, unit)
    if own_period is not None and list(own_period) != list(test):
        st.caption(f"*Scored on its own test period ({own_period[0]} to {own_period[1]}), so compare with care.")
    st.markdown(skill_explained(ui.md_escape(result.target)))
    if skill is None or skill <= 0:
        st.warning(
            f"This model does not beat 'tomorrow = today' on {ui.md_escape(reservoir)}. {said.sentence()} "
            + _advice(reservoir, result),
            icon=":material/warning:",
        )
    elif said.large_misses_worse:
        st.warning(said.sentence(), icon=":material/warning:")
    else:
        st.success(said.sentence(), icon=":material/trending_up:")
    if result.comparison:
        _comparison(result.comparison, unit)
    st.markdown("**Error by lead day**: how the average miss grows the further ahead the forecast looks.")
    ui.show_chart(charts.lead_error_figure(metrics, unit=unit), f"lead-error-v{version}", f"{K}lead_error")
    _activate_button(reservoir, job, result)


def _last_outcome(reservoir: str, job: Job) -> None:
    """The latest finished job: its result, or why it has none."""
    when = ui.fmt_time(job.finished or job.created)
    if job.status == "failed":
        st.error(
            f"The last training run (job #{job.id}, {when}) failed: {ui.md_escape(job.message)}",
            icon=":material/error:",
        )
    elif job.status == "interrupted":
        st.warning(
            f"The last training run (job #{job.id}, {when}) was interrupted: {ui.md_escape(job.message)}",
            icon=":material/warning:",
        )
    if job.result:
        _result_section(reservoir, job)


def _history(reservoir: str) -> None:
    """The reservoir's recent training runs and model comparisons, newest first."""
    all_jobs = ui.workspace().jobs(reservoir)
    jobs = all_jobs[:JOB_HISTORY_ROWS]
    outside = versions_outside_jobs(ui.workspace().versions(reservoir), all_jobs)
    with st.expander(history_title(len(jobs), outside), icon=":material/history:"):
        if outside:
            st.caption(outside_words(outside))
        if not jobs:
            st.caption("No training runs were started from this page for this reservoir yet.")
            return
        rows = [
            {
                "Job": j.id,
                "Run": RUN_WORDS.get(j.kind, "training"),
                "Model": job_model(j),
                "Status": j.status,
                "Started": ui.fmt_time(j.started or j.created),
                "Finished": ui.fmt_time(j.finished),
                "Versions saved": _versions_saved(j),
                "Note": j.message or "",
            }
            for j in jobs
        ]
        ui.show_table(pd.DataFrame(rows))


def _versions_saved(job: Job) -> str:
    """'3' for a training run, '4, 5, 6' for a comparison ('' while nothing is saved)."""
    result = job.result or {}
    if result.get("version") is not None:
        return str(result["version"])
    rows = [r for r in result.get("models") or [] if isinstance(r, dict)] or result.get("done") or []
    return ", ".join(str(v) for v in sorted(int(r["version"]) for r in rows))


def _start(reservoir: str) -> None:
    """The form and its Start button; a second run on a busy reservoir is refused by the store."""
    if not ui.allowed("train", "Training a model"):
        return
    config = settings_form(reservoir, pick_model=True)
    if config is None:
        return
    try:
        start_training(ui.workspace(), reservoir, config)
    except ValueError as exc:
        ui.show_error(exc)
        return
    st.rerun()


def _pick_tab(reservoir: str, running: Job | None, jobs: list[Job]) -> None:
    """Open the tab of the job the operator is most likely back for (the running or the latest one)."""
    wanted = st.session_state.pop(f"{K}mode_next", None)
    if st.session_state.get(f"{K}mode_for") != reservoir:
        latest = running or (jobs[0] if jobs else None)
        wanted = wanted or KIND_TAB.get(latest.kind if latest else TRAIN, TAB_TRAIN)
        st.session_state[f"{K}mode_for"] = reservoir
    if wanted:
        st.session_state[f"{K}mode"] = wanted


def _train_tab(reservoir: str, running: Job | None, jobs: list[Job]) -> None:
    """One model: the latest training result, then the form for a new run."""
    job_tab(
        running is not None,
        latest_job(jobs, TRAIN),
        ("Settings for another run", "New training run"),
        lambda job: _last_outcome(reservoir, job),
        lambda: _start(reservoir),
    )


def render() -> None:
    """Page body."""
    reservoir = ui.reservoir_page(
        "Train",
        "Teach a forecaster on this reservoir's stored readings, compare several kinds of model on the same "
        "days, or train one model on all reservoirs at once. Training runs in the background, usually a few "
        "minutes; every model is scored against the simple guess 'tomorrow = today'.",
    )
    if reservoir is None:
        return
    ws = ui.workspace()
    running = running_job(ws, reservoir)  # from the store, so a refresh or another tab finds the run too
    jobs = ws.jobs(reservoir)
    if running is not None:
        if running.kind == COMPARE:
            compare_running_section(running)
        elif running.kind == TRAIN:  # the fleet's job (filed under this reservoir) shows on its own tab
            _running_section(running)
    _pick_tab(reservoir, running, jobs)
    one, zoo, fleet = st.tabs([TAB_TRAIN, TAB_COMPARE, TAB_FLEET], key=f"{K}mode", on_change="rerun")
    if one.open:
        with one:
            _train_tab(reservoir, running, jobs)
    if zoo.open:
        with zoo:
            compare_tab(reservoir, running, jobs)
    if fleet.open:
        with fleet:
            fleet_tab(reservoir, ws.jobs())
    _history(reservoir)


if __name__ == "__main__":  # run by st.navigation (module name __main__), not on import by tests
    ui.run_page(render)
