"""Helpers every page shares: the workspace, the reservoir picker, caches and error display.

Not a page itself (app.py lists pages explicitly). Keeps Streamlit concerns here and all logic in core.
"""

from __future__ import annotations

import logging
import os
import runpy
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core import charts
from core.app.jobs import COMPARE, CYCLE, running_job, start_first_model
from core.app.judgement import record_judgement
from core.app.pipeline import add_sample, alert_trigger
from core.app.screening import out_of_range_decisions
from core.app.serving import model_label, serving
from core.auth.roles import required_role
from core.data.sample import SAMPLE_NAME
from core.forecast import risk
from core.store.workspace import Job, LoadedModel, ModelVersion, StoreError, Workspace, resolve_workspace
from pages import access

RESERVOIR_KEY = "reservoir"
RESERVOIR_PARAM = "reservoir"  # ?reservoir=NAME in a link (core.notify.messages.RESERVOIR_PARAM) opens it
ACTIVE = "active"  # version picker choice that follows whichever version is active
ACTIVE_ROW = "background-color: #e3f0fb"  # the active version's row in a table (a light tint of the primary colour)
FIRST_MODEL_ENV = "SENTINEL_FIRST_MODEL"  # "0"/"off": no background training of the sample's first model at start
APP_PATH = Path(__file__).resolve().parents[1] / "app.py"

PAGE_LINKS = {  # point_to's targets: page file, link text, icon
    "data": ("pages/data.py", "Go to the Data page", ":material/upload_file:"),
    "train": ("pages/train.py", "Go to the Train page", ":material/model_training:"),
}
log = logging.getLogger(__name__)


_IN_SHELL: ContextVar[bool] = ContextVar("sentinel_in_shell", default=False)  # app.py is running this page


@contextmanager
def shell() -> Iterator[None]:
    """app.py runs the page inside this: the page then knows the navigation, sidebar and start-up are drawn."""
    token = _IN_SHELL.set(True)
    try:
        yield
    finally:
        _IN_SHELL.reset(token)


def run_page(render: Callable[[], None] | None = None) -> None:
    """How every module under pages/ ends: inside app.py, draw the page; run on its own, run app.py instead.

    With a `pages/` folder, the first request after a server start that asks for a page URL (a bookmarked
    /forecast, or /train_jobs typed by hand) makes Streamlit run that file directly, in its old multipage mode,
    with a sidebar listing every file in pages/. Running app.py in its place gives the real app: its
    st.navigation (the official API, which also ends the old mode for the server) replaces that sidebar with the
    app's own pages and opens the requested one (or the Overview, for a module that is not a page); the stray run
    then stops. Section modules end with `run_page()` too, so no file under pages/ shows on its own.
    """
    if not _IN_SHELL.get():
        runpy.run_path(str(APP_PATH), run_name="__main__")
        st.stop()
    if render is not None:
        render()


@st.cache_resource(show_spinner=False)
def _workspace(root: str) -> Workspace:
    """One Workspace object per folder; it holds only paths (connections are opened per call)."""
    return Workspace(Path(root))


def base_workspace() -> Workspace:
    """The workspace named by SENTINEL_WORKSPACE (or ./workspace), acting as the local user (start-up only)."""
    return _workspace(str(resolve_workspace(os.environ.get("SENTINEL_WORKSPACE"))))


def workspace() -> Workspace:
    """The workspace, every call made for this session's signed-in user (core refuses what their role does not
    allow; without sign-in configured, the local user)."""
    base = base_workspace()
    actor = access.current_actor(base)
    if actor is None:  # pages run outside app.py's gate (tests): nothing without a role
        raise access.PermissionDenied("Sign in first: this workspace needs a signed-in user with a role.")
    return base.acting_as(actor)


def can(action: str) -> bool:
    """True when this session's user may do `action` (pages hide what core would refuse)."""
    actor = access.current_actor(base_workspace())
    return actor is not None and actor.allows(action)


def signed_in_name() -> str | None:
    """The signed-in user's name for records like revisions (None without sign-in)."""
    actor = access.current_actor(base_workspace())
    return actor.name if access.auth_configured() and actor is not None else None


def allowed(action: str, what: str, where: Any = st) -> bool:
    """can(action); when not, one line saying which role `what` needs, in place of the controls core would refuse."""
    if can(action):
        return True
    actor = access.current_actor(base_workspace())
    role = actor.role.name if actor else "no role"
    where.caption(f":material/lock: {what} needs the {required_role(action).name} role; you are signed in as {role}.")
    return False


@st.cache_resource(show_spinner="Preparing the workspace...")
def _start(root: str) -> dict[str, Any]:
    """Once per server start: mark jobs of a previous server run as interrupted, load the sample if empty, and
    train the sample's first model in the background, so a newcomer sees a forecast without touching anything."""
    ws = _workspace(root)
    interrupted = ws.mark_interrupted()
    added = False
    if not ws.reservoirs():
        add_sample(ws)
        added = True
    return {"interrupted": interrupted, "sample_added": added, "first_model_job": _first_model(ws)}


def _first_model(ws: Workspace) -> int | None:
    """Start the sample reservoir's first training (never had a model nor a job); its job id. Never fails the app."""
    if os.environ.get(FIRST_MODEL_ENV, "1").strip().lower() in ("0", "off", "no", "false"):
        return None
    if SAMPLE_NAME not in {r.name for r in ws.reservoirs()}:
        return None
    try:
        return start_first_model(ws, SAMPLE_NAME)
    except (OSError, ValueError) as exc:  # no process could start, or the store refused: the Train page still works
        log.warning("Reservoir Sentinel: the sample's first model was not started (%s).", exc)
        return None


def ensure_started() -> dict[str, Any]:
    """Run the once-per-server start-up for the current workspace."""
    return _start(str(base_workspace().root))


def first_model_job(reservoir: str) -> Job | None:
    """The job training a reservoir's first model while it runs (None once it has a version, or nothing runs)."""
    ws = workspace()
    if ws.versions(reservoir):
        return None
    job = running_job(ws, reservoir)
    return job if job is not None and job.kind != CYCLE else None  # a cycle job is filed under a reservoir too


def first_model_notice(reservoir: str, *, compact: bool = False) -> bool:
    """While a reservoir's first model trains, say so and rerun the page when it is done; True when it said so."""
    job = first_model_job(reservoir)
    if job is None:
        return False
    if job.kind == COMPARE:
        what = f"Several models are being compared on the readings of {md_escape(reservoir)}"
    else:
        model = model_label(str((job.config.get("model") or {}).get("name") or "?"))
        what = f"{md_escape(model)} is learning the readings of {md_escape(reservoir)}"
    if compact:
        st.caption(f":material/model_training: Training the first model (job #{job.id}): its forecast appears here.")
    else:
        st.info(
            f"**Training the first model...** {what} in the background (job #{job.id}, usually a few minutes). "
            "Its forecast, with uncertainty bands and the operating levels, appears here when it is done; follow "
            "the run on the Train page.",
            icon=":material/model_training:",
        )
    _rerun_when_done(job.id)
    return True


@st.fragment(run_every=3)
def _rerun_when_done(job_id: int) -> None:
    """Polls a job every few seconds; once it has ended the whole page reruns (and shows what it saved)."""
    if not fresh_job(job_id).active:
        st.rerun()


def fresh_job(job_id: int) -> Job:
    """The job as stored now; one whose process died without reporting (killed, out of memory) reads as interrupted."""
    return workspace().job(job_id)


def reservoir_names() -> list[str]:
    """Names of the reservoirs in the workspace, sorted for the picker (latest_days: no count of every reading)."""
    return sorted(workspace().latest_days(), key=str.lower)


def reservoir_picker() -> str | None:
    """Sidebar picker shared by all pages, bound to the address (`?reservoir=NAME`): a refresh, back/forward, a
    bookmark or an alert e-mail's link opens the same reservoir, and page switches keep it."""
    names = reservoir_names()
    with st.sidebar:
        if not names:
            st.info("No reservoirs yet. Upload readings on the Data page.")
            return None
        reservoir_from_link(names)
        if st.session_state.get(RESERVOIR_KEY) not in names:
            st.session_state[RESERVOIR_KEY] = names[0]
        st.selectbox(
            "Reservoir",
            names,
            key=RESERVOIR_KEY,
            bind="query-params",
            help="The reservoir every page shows; it is part of the page address, so a bookmark or a shared link "
            "opens it. Add reservoirs by uploading a CSV on the Data page.",
        )
        st.caption(f"Workspace: `{workspace().root}`")
    return st.session_state[RESERVOIR_KEY]


def reservoir_from_link(names: Sequence[str]) -> None:
    """The address names the reservoir: a link followed within the session (a card's 'Open forecast', back and
    forward) moves the picker to it, and a case or spacing slip still finds the reservoir meant; a name the
    workspace does not hold is said (the picker then keeps its reservoir)."""
    wanted = st.query_params.get(RESERVOIR_PARAM)
    if wanted is None or wanted == st.session_state.get(RESERVOIR_KEY):
        return
    match = wanted if wanted in names else next((n for n in names if n.lower() == str(wanted).strip().lower()), None)
    if match is not None:
        st.session_state[RESERVOIR_KEY] = match
    else:
        st.warning(f"The link names a reservoir '{md_escape(wanted)}' that is not in this workspace.")


def selected_reservoir() -> str | None:
    """The reservoir chosen in the sidebar (None in an empty workspace)."""
    name = st.session_state.get(RESERVOIR_KEY)
    return name if name in reservoir_names() else None


def reservoir_page(title: str, about: str) -> str | None:
    """A page's title and what it is for, then the picked reservoir (None, with a pointer to the Data page, if none)."""
    page_header(title, about)
    return require_reservoir()


def page_header(title: str, about: str) -> None:
    """Every page opens alike: its title, then one caption saying what it is for."""
    st.title(title)
    st.caption(about)


def require_reservoir() -> str | None:
    """The picked reservoir; in an empty workspace, say where to start (the Data page) and return None."""
    reservoir = selected_reservoir()
    if reservoir is None:
        point_to("data", "No reservoirs yet. Upload readings on the Data page first.", icon=":material/info:")
    return reservoir


def point_to(page: str, why: str | None = None, icon: str | None = None) -> None:
    """What is missing (an info line) and a link to the page where the operator gets it: 'data' or 'train'."""
    if why:
        st.info(why, icon=icon)
    path, label, link_icon = PAGE_LINKS[page]
    st.page_link(path, label=label, icon=link_icon)


def forget_on_switch(prefix: str, reservoir: str, keys: Sequence[str]) -> bool:
    """Drop a page's widget state (`prefix` + key) when the sidebar switched reservoir; True when it switched."""
    marker = f"{prefix}for"
    if st.session_state.get(marker) == reservoir:
        return False
    for key in keys:
        st.session_state.pop(f"{prefix}{key}", None)
    st.session_state[marker] = reservoir
    return True


def flash(key: str, outcome: str | BaseException) -> None:
    """Keep what a button did (a success line, or the error) for the next run to show once: callbacks cannot draw."""
    st.session_state[key] = outcome


def show_flash(key: str, where: Any = st) -> str | BaseException | None:
    """Show, once, what `flash` kept: the success line, or the error as show_error words it; returns it."""
    outcome = st.session_state.pop(key, None)
    if isinstance(outcome, BaseException):
        show_error(outcome, where)
    elif outcome:
        where.success(outcome, icon=":material/check_circle:")
    return outcome


def activate_version(reservoir: str, version: int, flash_key: str) -> None:
    """Button callback (Models page, leaderboard): make a version the one forecasts use; the outcome is flashed."""
    try:
        workspace().activate(reservoir, version)
    except ValueError as exc:
        flash(flash_key, exc)
    else:
        flash(flash_key, f"Version {version} is now the active model: forecasts use it.")


def served_words(reservoir: str, record: ModelVersion, short: bool = False) -> str:
    """Which model serves the reservoir and on how many days of history (core.app.serving), for a caption."""
    served = serving(workspace(), reservoir, record)
    if served is None:
        return ""
    return served.short() if short else served.words()


def unit_of(reservoir: str, variable: str | None) -> str | None:
    """A stored variable's unit for headers and axes (None when the reading is gone or has no unit)."""
    try:
        return workspace().reservoir(reservoir).variable(str(variable)).unit
    except (ValueError, KeyError):  # StoreError is a ValueError
        return None


def pick_version(
    models: list[ModelVersion], key: str, detail: Callable[[ModelVersion], str], help: str
) -> ModelVersion:
    """Selectbox: 'the active version' (follows activations) or a fixed version, each labelled with `detail`."""
    by_version = {m.version: m for m in models}
    active = next((v for v, m in by_version.items() if m.active), max(by_version))
    options: list[Any] = [ACTIVE, *sorted(by_version, reverse=True)]
    if st.session_state.get(key) not in options:
        st.session_state[key] = ACTIVE

    def label(choice: Any) -> str:
        version = active if choice == ACTIVE else int(choice)
        text = f"Active model (version {version})" if choice == ACTIVE else f"Version {version}"
        return f"{text} · {detail(by_version[version])}"

    choice = st.selectbox("Model version", options, key=key, format_func=label, help=help)
    return by_version[active if choice == ACTIVE else int(choice)]


def data_stamp(reservoir: str) -> str:
    """Changes whenever the reservoir's readings change, to key cached reads."""
    info = workspace().reservoir(reservoir)
    uploads = workspace().uploads(reservoir)
    revisions = workspace().revision_stamp(reservoir)  # a revision changes the revised readings, not the counts
    decisions = out_of_range_decisions(workspace(), reservoir)  # the out-of-range choice changes cleaning
    return (
        f"{info.last}|{sum(v.count for v in info.variables)}|{uploads[0]['id'] if uploads else 0}|{revisions}"
        f"|{sorted(decisions.items())}"
    )


@st.cache_data(show_spinner=False, max_entries=64)
def _readings(root: str, reservoir: str, variables: tuple[str, ...] | None, stamp: str) -> pd.DataFrame:
    """Cached stored readings; the stamp argument invalidates the cache after an import."""
    return _workspace(root).readings(reservoir, list(variables) if variables else None)


def readings(reservoir: str, variables: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Stored readings of a reservoir (cached until its data change)."""
    return _readings(str(workspace().root), reservoir, variables, data_stamp(reservoir))


@st.cache_resource(show_spinner="Loading the model...", max_entries=16)
def _loaded_model(root: str, reservoir: str, version: int, sha256: str) -> LoadedModel:
    """A loaded Keras model per reservoir+version (+checksum); read-only, so safe to share between sessions."""
    return _workspace(root).load_version(reservoir, version)


def loaded_model(reservoir: str, version: int | None = None) -> LoadedModel:
    """The active (or given) version, loaded once and reused."""
    record = workspace().version(reservoir, version)
    return _loaded_model(str(workspace().root), reservoir, record.version, record.sha256)


def show_chart(fig: Any, filename: str, key: str, *, compact: bool = False) -> None:
    """A plotly figure across the page; its camera button saves a report-size PNG named `filename`."""
    st.plotly_chart(fig, width="stretch", config=charts.plotly_config(filename, compact=compact), key=key)


def metric_row(metrics: Sequence[dict[str, Any]], *, border: bool = False, key: str | None = None) -> None:
    """Metrics side by side that wrap onto the next line when the page narrows, each as wide as its text, so a
    value or label is never cut ('4,18…'); each dict holds st.metric's arguments (label, value, delta, help...)."""
    with st.container(horizontal=True, wrap=True, gap="medium", key=key):
        for metric in metrics:
            st.metric(**{"border": border, "width": "content", **metric})


def show_table(frame: Any, **options: Any) -> None:
    """A table across the page without the row index, like every table in the app (options go to st.dataframe)."""
    st.dataframe(frame, hide_index=True, width="stretch", **options)


def show_error(exc: BaseException, where: Any = st) -> None:
    """A readable message for an expected problem; unexpected ones say so without a traceback."""
    if isinstance(exc, (ValueError, StoreError)):
        where.error(str(exc), icon=":material/error:")
    else:
        where.error(
            f"Something went wrong ({type(exc).__name__}: {exc}). Nothing was changed. "
            "If it happens again, note the time and check the server log.",
            icon=":material/error:",
        )


def fmt_time(stamp: str | None) -> str:
    """A stored UTC time stamp ('2024-05-01T06:30:00Z') as 'YYYY-MM-DD HH:MM UTC' ('-' when missing)."""
    if not stamp:
        return "-"
    try:
        ts = pd.Timestamp(stamp)
    except ValueError:
        return str(stamp)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC")
    return ts.strftime("%Y-%m-%d %H:%M UTC")


_MD_SPECIAL = frozenset("\\`*_{}[]()#+-.!|<>~$:=")


def md_escape(text: object) -> str:
    """User text (file, column, reservoir names) made inert for st.markdown/st.error: no markup, no HTML, no LaTeX."""
    return "".join(f"\\{ch}" if ch in _MD_SPECIAL else ch for ch in str(text)).replace("\n", " ")


def risk_key(reservoir: str) -> str:
    """Changes when the operator edits levels or the alert trigger, so cached alerts are redone."""
    ws = workspace()
    return repr(([lv.to_dict() for lv in ws.levels(reservoir)], alert_trigger(ws, reservoir)))


def record_alert(forecast: Any) -> None:
    """The active model's latest forecast was issued on this page: record its alert per side as the cycle does
    (core.app.judgement), so the Alerts page and the notification log say the same; never fails the page."""
    try:
        record_judgement(workspace(), forecast)
    except Exception as exc:  # noqa: BLE001 - a store or notification problem must not hide the forecast
        log.warning("Reservoir Sentinel: the alert of %s was not recorded (%s).", forecast.reservoir, exc)


def alert_banner(forecast: Any, prefix: str = "") -> None:
    """The forecast's operating-level alert in one coloured line (Forecast page and Overview cards); when both the
    flood and the drought side passed the trigger, one box names both, each with its reason."""
    hits = risk.raised(getattr(forecast, "alerts", None))
    if len(hits) > 1:
        top = hits[0].state
        box = st.error if top == "danger" else st.warning if top == "warning" else st.info
        lines = [f"**{md_escape(a.side.capitalize())} {a.state}**: {md_escape(a.reason)}" for a in hits]
        head = prefix + md_escape(risk.both_sides_words(forecast.alerts) or "")
        box(f"**{head}**  \n" + "  \n".join(lines), icon=":material/notification_important:")
        return
    alert = forecast.alert or {}
    state = alert.get("state")
    reason = prefix + md_escape(alert.get("reason") or "")  # names operator-typed level names
    if state in ("danger", "warning"):
        box = st.error if state == "danger" else st.warning
        box(f"**{state.capitalize()} alert**: {reason}", icon=":material/notification_important:")
    elif state == "watch":
        st.info(f"**Watch**: {reason}", icon=":material/visibility:")
    elif state == "normal":
        st.success(f"**No alert**: {reason}", icon=":material/check_circle:")
    elif reason:
        st.caption(f"Alert: {reason}")


if __name__ == "__main__":  # run on its own (Streamlit's pages/ discovery): the app, never this module alone
    run_page()
