"""The Train page's "All reservoirs" tab: one model trained on every reservoir's record, fine-tuned per reservoir.

Starts the fleet training job (core.app.fleetjob), follows it live (the fleet's loss per epoch, then each
fine-tune), shows the latest result and the leaderboard of each reservoir's own default model, the fleet model and
the fleet + fine-tune side by side. Not a page itself (app.py lists pages explicitly).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import display
from core.app.fleetjob import FLEET_JOB, BoardEntry, fleet_board, fleet_job_running, start_fleet_training
from core.app.fleettrain import TARGET_KINDS
from core.model.fleet import FleetConfig
from core.store.workspace import Job
from pages import common as ui
from pages.train_jobs import K, loss_figure, polled_job, stop_button

F = f"{K}fleet_"  # widget keys of this tab
WHEN = """
**When to use the fleet model.** It is one Conv1D+LSTM trained on the records of *all* reservoirs here that
forecast the same thing (storage, or level), each scaled to its own record, and then fine-tuned a few epochs on
each reservoir. Use it:

- for a **new reservoir with only a few months of readings** (from 30 days): the fleet forecasts it at once, with
  bands taken from the fleet's errors in that reservoir's scale, until its own record is long enough (about 140
  days) for a fine-tune or a model of its own;
- where a reservoir's own model is **weak or unstable** (short record, few floods or droughts seen): the others'
  records teach the fleet how storage responds to rain and inflow;
- to **retrain many reservoirs at once**: one fleet training and a short fine-tune each costs less than one full
  training per reservoir.

Keep a reservoir's **own model** where it scores better: the leaderboard on this tab compares the three on each
reservoir's test days and names the best on its validation days, which decide activation. A new version becomes
active by itself only where the reservoir has no active model yet; switch a reservoir's active version on the
Models page (`train --fleet` on the command line activates by the validation rule).
"""


@st.fragment(run_every=1)
def _live(job_id: int) -> None:
    """The running fleet job: its stage, the fleet's loss per epoch, Stop."""
    job = polled_job(job_id)
    progress = job.progress
    total = int(job.config.get("epochs") or 1)
    epochs = len(job.epochs)
    if progress is not None and progress.index >= 1:
        st.progress(min(progress.index / max(progress.total, 1), 1.0), text=f"{progress.model} (step "
                    f"{progress.index + 1} of {progress.total})")  # fmt: skip
    else:
        st.progress(min(epochs / total, 1.0), text=f"Fleet model: epoch {epochs} of at most {total}")
    if job.epochs:
        figure = loss_figure(f"{F}loss_fig", (job_id, epochs), job.epochs)
        ui.show_chart(figure, f"fleet-training-loss-job-{job_id}", f"{F}loss_live")
    stop_button(
        job,
        "Stop the fleet training",
        f"{F}stop",
        "End the fleet's training after its epoch (its best epoch is saved), or skip the fine-tunes not done yet.",
        "Stopping: the best epoch so far is saved as the fleet version; the fine-tunes not done yet are skipped.",
    )


def _running(job: Job) -> None:
    """What a running fleet job shows, whichever reservoir the page has picked."""
    st.subheader(f"Fleet model training in progress (job #{job.id})")
    st.caption(
        f"Started {ui.fmt_time(job.started or job.created)} from {ui.md_escape(job.reservoir)}'s Train page. You can "
        "leave this page: training continues and this view comes back when you return."
    )
    _live(job.id)


def _latest(jobs: list[Job]) -> Job | None:
    """The newest finished fleet job of the workspace."""
    return next((j for j in jobs if j.kind == FLEET_JOB and not j.active), None)


def _result(job: Job) -> None:
    """The latest fleet training: when, what it saved, each reservoir's test skill (or why it failed)."""
    when = ui.fmt_time(job.finished or job.created)
    if job.status in ("failed", "interrupted"):
        st.error(f"The last fleet training (job #{job.id}, {when}) {job.status}: {ui.md_escape(job.message)}",
                 icon=":material/error:")  # fmt: skip
        return
    result = job.result or {}
    fleet = result.get("fleet_version") or {}
    stopped = (
        " (stopped by you: the best epoch so far was kept; fine-tunes not done were skipped)"
        if result.get("stopped_by_user")
        else ""
    )
    st.markdown(
        f"**Last fleet training** (job #{job.id}, {when}){stopped}: version id {fleet.get('id')} trained on "
        f"{len(fleet.get('reservoirs') or [])} reservoirs' {ui.md_escape(result.get('target', '?'))} in "
        f"{display.number(round(float(result.get('train_seconds') or 0)))} s; "
        f"{len(fleet.get('cold_start') or [])} served as cold starts."
    )
    skipped = result.get("skipped") or []
    if skipped:
        st.caption("Left out: " + "; ".join(f"{ui.md_escape(s['reservoir'])}: {ui.md_escape(s['reason'])}"
                                             for s in skipped))  # fmt: skip


def _cell(entry: BoardEntry | None) -> str:
    """A board entry's test skill in words ('+7 %'; 'not trained'; 'no test days' for a cold start)."""
    if entry is None:
        return "not trained"
    if entry.skill is None:
        return "no test days yet"
    return display.percent(entry.skill, signed=True)


def _board() -> None:
    """Own default, fleet and fleet + fine-tune per reservoir: test skill, which wins on validation, which is active."""
    rows = fleet_board(ui.workspace())
    if not rows:
        st.caption("No reservoir has a default model or a fleet version yet.")
        return
    names = {"own": "own default", "fleet": "fleet", "tuned": "fleet + fine-tune"}
    frame = pd.DataFrame(
        [
            {
                "Reservoir": r.reservoir,
                "Own default": _cell(r.own),
                "Fleet": _cell(r.fleet),
                "Fleet + fine-tune": _cell(r.tuned),
                "Best on validation": names.get(r.best(), "-") if not r.cold_start else "cold start: fleet",
                "Active": r.active or "none",
            }
            for r in rows
        ]
    )
    skill = st.column_config.TextColumn
    ui.show_table(
        frame,
        column_config={
            "Own default": skill(help="Test skill vs persistence of the newest own default model."),
            "Fleet": skill(help="Test skill vs persistence of the newest fleet model on this reservoir."),
            "Fleet + fine-tune": skill(help="Test skill vs persistence of the fleet's copy tuned on this record."),
            "Best on validation": st.column_config.TextColumn(
                help="Lowest MAE on the validation days: what decides which version may become active."
            ),
        },
    )
    st.caption(
        "Skill vs persistence on each model's test days (above 0 % = better than 'tomorrow = today'). Each model "
        "is scored on its own test period, the same days for versions trained on the same record with the same "
        "split; a cold start has no test days until its record is long enough to split."
    )


def _form(reservoir: str) -> None:
    """Target, fine-tune, Start: the fleet job for every reservoir that has the target."""
    if not ui.allowed("train", "Training the fleet model"):
        return
    have = [k for k in TARGET_KINDS if any(k in r.variable_names for r in ui.workspace().reservoirs())]
    if not have:
        st.info("No reservoir has storage or level readings yet: import some on the Data page first.")
        return
    with st.form(f"{F}form", border=False):
        target = st.radio("Forecast", have, horizontal=True, key=f"{F}target",
                          help="The fleet learns from every reservoir that records this.")  # fmt: skip
        tune = st.checkbox(
            "Fine-tune each reservoir after the fleet",
            value=True,
            key=f"{F}tune",
            help="A few epochs on each reservoir's own training days, stopped on its validation days.",
        )
        start = st.form_submit_button("Train on all reservoirs", icon=":material/hub:", type="primary")
    if not start:
        return
    try:
        start_fleet_training(ui.workspace(), reservoir, target=target, fine_tune=tune, config=FleetConfig())
    except ValueError as exc:
        ui.show_error(exc)
        return
    st.rerun()


def fleet_tab(reservoir: str, jobs: list[Job]) -> None:
    """The tab's body: a running job live, else the last result; the leaderboard; the form; when to use it."""
    running = fleet_job_running(ui.workspace())
    if running is not None:
        _running(running)
    else:
        last = _latest(jobs)
        if last is not None:
            _result(last)
    with st.expander("When to use the fleet model", icon=":material/help:", expanded=running is None and not jobs):
        st.markdown(WHEN)
    st.markdown("**Leaderboard: each reservoir's own default, the fleet model and the fleet + fine-tune**")
    _board()
    if running is None:
        st.subheader("Train the fleet model")
        _form(reservoir)


if __name__ == "__main__":  # run on its own (Streamlit's pages/ discovery): the app, never this section alone
    ui.run_page()
