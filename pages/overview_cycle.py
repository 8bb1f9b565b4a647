"""The Overview's daily-cycle section: the "Run the cycle now" button, its progress per reservoir, and the history.

Not a page itself (app.py lists pages explicitly). The cycle runs as a background process
(core.fleet.job.start_cycle_job) that records each reservoir's result as soon as it is known; this section polls
those results (core.app.fleet.cycle_progress) like the Train page follows a training job, and reruns the whole
page when the run ends so the fleet table shows the new results.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import pandas as pd
import streamlit as st

from core.app import jobs
from core.app.fleet import CycleHistoryRow, CycleProgress, cycle_history, cycle_progress, latest_cycle_id
from core.app.fleettrain import fleet_possible
from core.fleet import job as cycle_job
from core.fleet.fleetstage import FLEET_TASK
from pages import common as ui

K = "overview_cycle_"  # widget key prefix
STARTED_KEY = f"{K}started"  # (job id, newest run id before the click, click time)
FLASH_KEY = f"{K}flash"
RETRAIN_CHOICES = {"due": "Where due", "none": "None", "all": "Every reservoir"}  # the help says what each means
START_GRACE_S = 90  # a started cycle that has not opened its run by then is reported as not started
POLL_S = 2
HISTORY_RUNS = 10


def start_cycle() -> None:
    """Button callback: start the cycle in the background (retraining as chosen) and remember which run to follow."""
    retrain = st.session_state.get(f"{K}retrain", "due")  # read here: the choice may be newer than the button
    fleet = bool(st.session_state.get(f"{K}fleet", False))
    ws = ui.workspace()
    before = latest_cycle_id(ws)
    try:
        job = cycle_job.start_cycle_job(ws, retrain=retrain, engine="local", fleet=fleet)
    except (OSError, ValueError) as exc:  # already running, not allowed, or no process could start
        ui.flash(FLASH_KEY, exc)
        return
    st.session_state[STARTED_KEY] = (job, before, time.time())


def _running(progress: CycleProgress | None) -> bool:
    """True while the followed (or any) run is still going."""
    return progress is not None and progress.status == "running"


def _results_frame(progress: CycleProgress) -> pd.DataFrame:
    """The reservoirs done so far in this run, newest results as recorded."""
    return pd.DataFrame(
        {
            "Reservoir": [r.reservoir for r in progress.results],
            "Status": [r.status for r in progress.results],
            "Alert": [r.alert or "" for r in progress.results],
            "Retrained": ["yes" if r.retrained else "" for r in progress.results],
            "Version": [r.version for r in progress.results],
            "Seconds": [r.seconds for r in progress.results],
            "Error": [r.error or "" for r in progress.results],
        }
    )


def _fleet_first(job_id: int | None) -> bool:
    """True while the followed run is still on its fleet stage (judging or training the fleet model)."""
    if job_id is None:
        return False
    try:
        job = ui.fresh_job(int(job_id))
    except (ValueError, TypeError):  # the job row is gone: nothing to say about its stage
        return False
    return job.progress is not None and job.progress.model == FLEET_TASK


def _show_progress(progress: CycleProgress, job_id: int | None = None) -> None:
    """The bar and the per-reservoir results of a running run."""
    if not progress.results and _fleet_first(job_id):
        st.info(
            "Judging the fleet model first, and retraining it where due (one training over every reservoir, a few "
            "minutes); the reservoirs follow, each fine-tuned from it where a training is due.",
            icon=":material/hub:",
        )
    failed = f", {progress.failed} failed" if progress.failed else ""
    st.progress(
        progress.fraction,
        text=f"Cycle #{progress.cycle_id} running since {ui.fmt_time(progress.started)}: "
        f"{progress.done} of {progress.total} reservoirs done{failed}.",
    )
    if progress.results:
        ui.show_table(
            _results_frame(progress),
            column_config={"Seconds": st.column_config.NumberColumn(format="%.1f")},
            height=min(38 + 35 * len(progress.results), 300),
        )


def _start_failed(job_id: int | None, clicked: float) -> str | None:
    """Why a started cycle never opened its run (its job ended, or it took too long), or None while it may still."""
    if job_id is not None:
        try:
            job = ui.fresh_job(int(job_id))  # a process that died without reporting is marked interrupted
        except (ValueError, TypeError):  # the job row is gone (or the id is not a job's): fall back to the clock
            job = None
        if job is not None and not job.active:
            return f"The cycle (job #{job_id}) ended before it started ({job.status}): {job.message or 'no message'}."
    if time.time() - clicked > START_GRACE_S:
        return (
            f"The cycle (job #{job_id}) did not start within {START_GRACE_S} s. Its log is in the workspace's "
            "jobs/ folder; `python -m core cycle` runs it from a terminal."
        )
    return None


@st.fragment(run_every=POLL_S)
def _follow() -> None:
    """Poll the run every few seconds; when it ends, rerun the whole page (fleet table, history)."""
    job, before, clicked = st.session_state.get(STARTED_KEY) or (None, latest_cycle_id(ui.workspace()) - 1, 0.0)
    progress = cycle_progress(ui.workspace(), after=before)
    if progress is None:
        problem = _start_failed(job, clicked) if job is not None else None
        if problem:
            st.session_state.pop(STARTED_KEY, None)
            ui.flash(FLASH_KEY, ValueError(problem))
            st.rerun()
        st.info(f"Starting the cycle{f' (job #{job})' if job else ''}...", icon=":material/hourglass_top:")
        return
    if not _running(progress):
        st.session_state.pop(STARTED_KEY, None)
        ui.flash(FLASH_KEY, f"Cycle #{progress.cycle_id} finished ({progress.status}): the table shows its results.")
        st.rerun()
    _show_progress(progress, job)


def _history_frame(rows: Sequence[CycleHistoryRow]) -> pd.DataFrame:
    """Recent runs as the history table shows them."""
    return pd.DataFrame(
        {
            "Run": [r.id for r in rows],
            "Started": [ui.fmt_time(r.started) for r in rows],
            "Engine": [r.engine for r in rows],
            "Retrain": [r.retrain for r in rows],
            "Status": [r.status for r in rows],
            "Seconds": [r.seconds for r in rows],
            "Reservoirs ok": [r.ok for r in rows],
            "Failed": [r.failed for r in rows],
            "Files imported": [r.imported for r in rows],
            "Files refused": [r.inbox_failed for r in rows],
            "Files held": [len(r.inbox_held) for r in rows],
            "Notifications": [r.notifications for r in rows],
            "Note": [r.message or "" for r in rows],
        }
    )


def _held_notice(latest: CycleHistoryRow) -> None:
    """The latest run's held inbox files, each with its questions and what to do: nothing is imported on a guess."""
    if not latest.inbox_held:
        return
    lines = [
        f"The last cycle held {len(latest.inbox_held)} inbox file(s) instead of importing them on a guess. Declare "
        "their columns in the inbox's inbox.toml (or import them on the Data page), then move them back from "
        "held/ into the inbox:"
    ]
    for held in latest.inbox_held:
        lines.append(f"- **{ui.md_escape(str(held.get('file')))}**")
        lines += [f"    - {ui.md_escape(str(q))}" for q in held.get("questions") or ()]
    st.warning("\n".join(lines), icon=":material/pan_tool:")


def _history() -> None:
    """The last runs: when, how, how it went."""
    rows = cycle_history(ui.workspace(), limit=HISTORY_RUNS)
    if not rows:
        st.caption("The cycle has not run in this workspace yet.")
        return
    _held_notice(rows[0])
    st.markdown("**Recent runs**")
    ui.show_table(
        _history_frame(rows),
        column_config={
            "Seconds": st.column_config.NumberColumn(format="%.0f"),
            "Status": st.column_config.TextColumn(
                help="ok: every reservoir forecast; partial: some failed; interrupted: its process stopped."
            ),
            "Files refused": st.column_config.NumberColumn(help="Inbox files moved to failed/ with their reason."),
            "Files held": st.column_config.NumberColumn(
                help="Inbox files moved to held/: the Data page would ask to confirm how a column is read."
            ),
            "Notifications": st.column_config.NumberColumn(help="Alert changes sent to the configured channels."),
        },
        key=f"{K}history",
    )


def _button(busy: bool) -> None:
    """The operator's action: how much to retrain, the fleet model or not, and the button (disabled while a run is
    going; operators only). One control under the other: whole at every width."""
    if not ui.allowed("cycle", "Running the cycle"):
        return
    st.selectbox(
        "Retrain",
        list(RETRAIN_CHOICES),
        key=f"{K}retrain",
        format_func=RETRAIN_CHOICES.get,
        help="'Where due': reservoirs whose model's data is 30+ days behind the readings, or whose recent skill "
        "dropped. 'None': forecast with the active models. New versions follow the activation rule of the Train "
        "page.",
        disabled=busy,
    )
    if fleet_possible(ui.workspace()):
        st.toggle(
            "Fleet model too",
            key=f"{K}fleet",
            disabled=busy,
            help="Also judge the fleet model (one model learnt from every reservoir, see the Train page's 'All "
            "reservoirs'): retrained where chosen above, and reservoirs due a training are fine-tuned from it "
            "instead of trained from scratch. Same as `python -m core cycle --fleet`.",
        )
    st.button(
        "Run the cycle now",
        key=f"{K}run",
        icon=":material/play_arrow:",
        type="primary",
        on_click=start_cycle,
        disabled=busy,
        help="Import the inbox, retrain where chosen, forecast every reservoir and send alert changes, in the "
        "background; this page follows it.",
    )


def cycle_section() -> None:
    """Run button, live progress while a run goes, and the history."""
    st.caption(
        "The daily cycle imports new files from the inbox, retrains models where due, forecasts every reservoir "
        "and sends alert changes to the notification channels. It normally runs every morning on its own "
        "(cron or a systemd timer, see the README); run it here after fixing data or levels."
    )
    ui.show_flash(FLASH_KEY)
    ws = ui.workspace()
    runs = ws.cycle_runs(limit=1)
    queued = any(j.kind == jobs.CYCLE for j in ws.jobs(active_only=True))  # started elsewhere, run not opened yet
    busy = STARTED_KEY in st.session_state or queued or bool(runs and runs[0].status == "running")
    _button(busy)
    if busy:
        _follow()
    _history()


if __name__ == "__main__":  # run on its own (Streamlit's pages/ discovery): the app, never this section alone
    ui.run_page()
