"""Following the Train page's background jobs: poll the store, the Stop button, the live loss chart, the tabs.

Shared by the two tabs of the Train page (pages/train.py: one model, pages/train_compare.py: the model zoo), so
both keep the widget keys under one prefix. Not a page itself (app.py lists pages explicitly).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from core import charts
from core.app.fleetjob import FLEET_JOB
from core.app.jobs import COMPARE, TRAIN
from core.store.workspace import Epoch, Job, ModelVersion
from pages import common as ui

K = "train_"  # widget key prefix: stable keys that tests set by name
TAB_TRAIN, TAB_COMPARE, TAB_FLEET = "Train one model", "Compare models", "All reservoirs"
KIND_TAB = {TRAIN: TAB_TRAIN, COMPARE: TAB_COMPARE, FLEET_JOB: TAB_FLEET}


def open_tab_next(tab: str) -> None:
    """Open `tab` on the next full run: a tab cannot be switched while the page is being drawn."""
    st.session_state[f"{K}mode_next"] = tab


def job_versions(job: Job) -> list[int]:
    """The versions a job saved: one for a training run, one per model for a comparison."""
    result = job.result or {}
    if result.get("version") is not None:
        return [int(result["version"])]
    rows = [r for r in result.get("models") or [] if isinstance(r, dict)] or result.get("done") or []
    return sorted(int(r["version"]) for r in rows if isinstance(r, dict) and r.get("version") is not None)


def versions_outside_jobs(versions: Sequence[ModelVersion], jobs: Sequence[Job]) -> list[ModelVersion]:
    """Versions no dashboard job saved: trained by the command line (`train`, `retrain`, `cycle`) or at first start."""
    saved = {v for job in jobs for v in job_versions(job)}
    return [m for m in versions if m.version not in saved]


def history_title(n_jobs: int, outside: Sequence[ModelVersion]) -> str:
    """The run history's title: dashboard runs, and versions saved elsewhere, so '(0)' never hides a trained model."""
    if not outside:
        return f"Recent training runs ({n_jobs})"
    elsewhere = f"{len(outside)} version{'s' if len(outside) != 1 else ''} saved outside the dashboard"
    return f"Recent training runs ({n_jobs} from this page; {elsewhere})"


def outside_words(outside: Sequence[ModelVersion]) -> str:
    """Where versions without a dashboard job came from, in one sentence."""
    listed = ", ".join(f"v{m.version} ({m.created[:16].replace('T', ' ')})" for m in outside)
    return (
        f"Saved outside the dashboard: {listed}. These were trained from the command line "
        "(`python -m core train`, `retrain` or `cycle`, e.g. by a scheduled job) or as the first model when the app "
        "started; the Models page lists their scores."
    )


def latest_job(jobs: list[Job], kind: str) -> Job | None:
    """The newest job of one kind (jobs come newest first), None when there is none."""
    return next((j for j in jobs if j.kind == kind), None)


def polled_job(job_id: int) -> Job:
    """The job as stored now; once it has ended, a full rerun (on its tab) swaps the live view for the result."""
    job = ui.fresh_job(job_id)  # a process that died without reporting is marked interrupted: the page says so
    if not job.active:
        open_tab_next(KIND_TAB.get(job.kind, TAB_TRAIN))
        st.rerun()
    return job


def stop_button(job: Job, label: str, key: str, help_text: str, stopping_text: str) -> None:
    """A Stop button for a running job; the request goes through the store, the job ends after its epoch."""
    stopping = job.stop_requested
    if not stopping and ui.can("train") and st.button(label, key=key, icon=":material/stop:", help=help_text):
        ui.workspace().request_stop(job.id)
        stopping = True
    if stopping:
        st.info(stopping_text)


def loss_figure(slot: str, stamp: tuple[Any, ...], epochs: Sequence[Epoch]) -> Any:
    """A live loss chart, rebuilt only when `stamp` changes (a new epoch): the pollers redraw it every second."""
    cached = st.session_state.get(slot)
    if cached is None or cached[0] != stamp:
        cached = (stamp, charts.loss_figure([e.to_dict() for e in epochs]))
        st.session_state[slot] = cached
    return cached[1]


def job_tab(
    running: bool,
    last: Job | None,
    headings: tuple[str, str],
    outcome: Callable[[Job], None],
    start: Callable[[], None],
    intro: str | None = None,
) -> None:
    """One tab: the latest job's outcome, then the form for a new job (folded away while a job is running).

    `headings` are the fold's label and the title above the form; `intro` stands in for an outcome not had yet.
    """
    settings, new = headings
    if running:
        with st.expander(settings, icon=":material/tune:"):
            start()
        return
    if last is not None:  # the latest outcome first: it is what the operator came back for
        outcome(last)
        st.divider()
        st.subheader(new)
    elif intro:
        st.markdown(intro)
    start()


if __name__ == "__main__":  # run on its own (Streamlit's pages/ discovery): the app, never this section alone
    ui.run_page()
