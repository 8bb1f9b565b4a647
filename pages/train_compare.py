"""The Train page's "Compare models" tab: train the model zoo on the same days, follow it live, rank it.

Thin: the comparison runs in its own process (core.app.jobs.start_comparison) and stores a leaderboard
(core.model.leaderboard); this tab starts it, polls it and draws the verdict, table and charts (core.charts).
Not a page itself: pages/train.py shows it as a tab.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd
import streamlit as st

from core import charts, display
from core.app.jobs import COMPARE, start_comparison
from core.app.serving import model_label
from core.app.summary import SKILL_FORMAT, skill_percent
from core.model.leaderboard import Challenge, Skill, judge, judge_rows
from core.model.zoo import MODEL_NAMES, ZOO
from core.store.workspace import Epoch, Job, ModelVersion
from pages import common as ui
from pages.train_form import MEMBERS_LIST, settings_form
from pages.train_jobs import TAB_COMPARE, K, job_tab, latest_job, loss_figure, open_tab_next, polled_job, stop_button

BAR_METRICS = {"skill": "Test skill", "val_skill": "Validation skill", "mae": "Test error (MAE)"}
MEMBERS_HELP = "The kinds of model to train and rank:\n\n" + MEMBERS_LIST
RANKING_EXPLAINED = (
    "**Ranked on validation, scored on test.** The order (and the recommendation) comes from each model's "
    "errors on the *validation* days, a stretch of the record held back from learning and used only to choose. "
    "The *test* days come after it and took no part in any choice, so their scores are what to expect on days "
    "no model has seen."
)


def _name(row: dict[str, Any]) -> str:
    """A compared model's display name: the label stored with its result, else the zoo's."""
    return row.get("label") or model_label(row["model"])


def _current_model(job: Job, names: list[str], done: int) -> tuple[int, str | None]:
    """Which member is at work: the job's stored progress, else (nothing reported yet) the first unfinished one."""
    if job.progress is not None:
        return job.progress.index, job.progress.model
    if done < len(names):
        return done, names[done]
    return max(len(names) - 1, 0), None


def _model_epochs(job: Job, index: int) -> list[Epoch]:
    """The current member's epochs, renumbered from 1 (the job numbers epochs across all members)."""
    return [
        replace(e, epoch=int(e.logs.get("model_epoch") or e.epoch))
        for e in job.epochs
        if int(e.logs.get("model_index", -1)) == index
    ]


def _finished_so_far(done: list[dict[str, Any]], unit: str | None) -> None:
    """The members a running comparison has finished, as saved versions with their validation scores."""
    if not done:
        st.caption("Finished models appear here, one row each.")
        return
    frame = pd.DataFrame(
        [
            {
                "Model": _name(r),
                "Version": r.get("version"),
                "Val MAE": r.get("val_mae"),
                "Val skill": skill_percent(r.get("val_skill")),
                "Train (s)": r.get("train_seconds"),
            }
            for r in done
        ]
    )
    suffix = f" ({unit})" if unit else ""
    number = st.column_config.NumberColumn
    ui.show_table(
        frame,
        column_config={
            "Version": number("Version", format="%d", width=60),
            "Val MAE": number(
                f"Val MAE{suffix}",
                format=display.printf_format(frame["Val MAE"]),
                help="Average error on the validation days, which rank the models.",
                width=90,
            ),
            "Val skill": number(format=SKILL_FORMAT, help="Above 0 % = better than 'tomorrow = today'.", width=75),
            "Train (s)": number(format="%,.1f", width=70),
        },
    )


@st.fragment(run_every=1)
def _live_compare(job_id: int) -> None:
    """Polls a comparison once a second: which model is at work, those already done, the current loss curve."""
    job = polled_job(job_id)
    names = list(job.params.get("models") or [])
    total = max(len(names), 1)
    partial = job.result or {}
    done = list(partial.get("done") or [])
    index, name = _current_model(job, names, len(done))
    cfg = job.config
    if job.status == "queued" or name is None or job.message == "preparing data":
        label = "Preparing the data..."
    else:
        label = f"Model {index + 1} of {total}: {model_label(name)}"
    st.progress(min(len(done) / total, 1.0), text=label)
    table_col, loss_col = st.columns(2)
    with table_col:
        st.markdown(f"**Finished: {len(done)} of {total}**")
        _finished_so_far(done, ui.unit_of(job.reservoir, cfg.get("target")))
    with loss_col:
        epochs = _model_epochs(job, index) if name is not None else []
        if name is not None:
            max_epochs = int(cfg.get("epochs") or 1)
            if not ZOO[name].trains_over_epochs:
                st.markdown(f"**{model_label(name)}**: fitted in one pass (no epochs).")
            else:
                progress = f"epoch {len(epochs)} of at most {max_epochs}." if epochs else "building the model..."
                st.markdown(f"**{model_label(name)}**: {progress}")
        if epochs:
            figure = loss_figure(f"{K}compare_loss_fig", (job_id, index, len(epochs)), epochs)
            ui.show_chart(figure, f"compare-loss-job-{job_id}", f"{K}compare_loss")
    stop_button(
        job,
        "Stop the comparison",
        f"{K}compare_stop",
        "End after the current epoch: the model at work keeps its best epoch, and the finished ones are ranked.",
        "Stopping after the current epoch; the models finished so far (and the best epoch of the current one) "
        "will be ranked.",
    )


def compare_running_section(job: Job) -> None:
    """What a running comparison shows, whichever tab or visit started it."""
    cfg = job.config
    n = len(job.params.get("models") or [])
    st.subheader(f"Comparing {n} models (job #{job.id})")
    st.caption(
        f"Forecasting {ui.md_escape(cfg.get('target', '?'))}; started {ui.fmt_time(job.started or job.created)}. "
        "Models are trained one after another on the same days. You can leave this page: the comparison "
        "continues and this view comes back when you return."
    )
    _live_compare(job.id)


def _beats_persistence(rows: list[dict[str, Any]]) -> bool:
    """The verdict's own rule: some learned model has positive skill on the validation days."""
    return any(r["model"] != "persistence" and (r.get("val_skill") or 0) > 0 for r in rows)


def _leaderboard_table(board: dict[str, Any], active: int | None, unit: str | None) -> None:
    """The ranked models with validation and test scores, every row shown (the table is as tall as the board);
    the recommended (★), default and active rows marked, the active one tinted; the unit on the error values."""
    rows = []
    for r in board["models"]:
        scores = r["metrics"]["model"]
        name = _name(r)
        if r["model"] == board.get("best"):
            name += " ★"
        default, current = r["model"] == board.get("default"), r["version"] == active
        marks = [m for m, on in (("default", default), ("active", current)) if on]
        skill = Skill.of(r["metrics"])
        rows.append(
            {
                "Rank": r["rank"],
                "Model": name + (f" ({', '.join(marks)})" if marks else ""),
                "Version": r["version"],
                "Val MAE": r.get("val_mae"),
                "Test MAE": scores.get("mae"),
                "RMSE": scores.get("rmse"),
                "Skill": skill_percent(skill.mae),
                "RMSE skill": skill_percent(skill.rmse),
                "NSE": scores.get("nse"),
                "KGE": scores.get("kge"),
                "Train (s)": r.get("train_seconds"),
            }
        )
    frame = pd.DataFrame(rows)
    number = st.column_config.NumberColumn
    errors = display.printf_format(frame[["Val MAE", "Test MAE", "RMSE"]].to_numpy().ravel(), unit)
    ui.show_table(
        frame.style.apply(lambda row: _tint(row, active), axis=1),
        height=38 + 35 * len(frame),  # every model in view: the 11th row is never below a scroll
        column_config={
            "Rank": number("Rank", help="Order by the validation error (1 = smallest).", width=45),
            "Model": st.column_config.TextColumn(
                help="★ = best on the validation days; default = the app's standard model; "
                "active = the version forecasts use now.",
                width=200,
                pinned=True,
            ),
            "Version": number("Ver.", format="%d", help="Each model was saved as a version.", width=45),
            "Val MAE": number("Val MAE", format=errors, help="Average error on the validation days (ranks them)."),
            "Test MAE": number("Test MAE", format=errors, help="Average error on the untouched test days."),
            "RMSE": number("Test RMSE", format=errors, help="Like MAE but large misses weigh more."),
            "Skill": number(
                "Skill", format=SKILL_FORMAT, help="MAE skill: above 0 % = better than 'tomorrow = today'.", width=65
            ),
            "RMSE skill": number(
                "RMSE skill",
                format=SKILL_FORMAT,
                help="The same on RMSE: at or below 0 % the model is no better on large misses.",
                width=85,
            ),
            "NSE": number(
                "NSE", format="%.3f", help="Nash-Sutcliffe efficiency on the test days: 1 is perfect.", width=55
            ),
            "KGE": number(
                "KGE", format="%.3f", help="Kling-Gupta efficiency on the test days: 1 is perfect.", width=55
            ),
            "Train (s)": number(format="%,.1f", help="Seconds it took to train on this machine.", width=70),
        },
    )


def _tint(row: pd.Series, active: int | None) -> list[str]:
    """The active version's row tinted like the Models page's."""
    return [ui.ACTIVE_ROW if row["Version"] == active else ""] * len(row)


def _recommend(reservoir: str, board: dict[str, Any], active: int | None, unit: str | None) -> None:
    """The dashboard never activates a compared model by itself: whether the operator should, by beats_active."""
    best = board["models"][0]
    name = f"{ui.md_escape(_name(best))} (version {best['version']})"
    if best["version"] == active:
        st.success(
            f"The active model was not changed: the recommended model, {name}, is the active one already, and "
            "forecasts use it.",
            icon=":material/check_circle:",
        )
        return
    record = ui.workspace().active_version(reservoir)
    challenge = None if record is None or record.val_mae is None else _challenge(board, record, best)
    if challenge is None or challenge.meaningful:
        than = (
            "no version is active yet"
            if challenge is None
            else f"against the active version {record.version}: {ui.md_escape(challenge.words(unit))}"
        )
        st.info(
            f"**Recommended: activate {name}.** It scored best on the validation days, {than}. The "
            "dashboard never changes the model forecasts use without you: activate it below (it is picked already).",
            icon=":material/recommend:",
        )
        return
    st.info(
        f"The active model was not changed (version {record.version} is active). The best-scoring model, {name}, "
        f"against it: {ui.md_escape(challenge.words(unit))}, so keeping version {record.version} is recommended. "
        "Activate any of the compared versions below if you prefer it.",
        icon=":material/info:",
    )


def _challenge(board: dict[str, Any], active: ModelVersion, best: dict[str, Any]) -> Challenge:
    """The best row against the active version: paired on the same validation days when the active one took part
    in this comparison, else on the two validation MAEs alone (the stricter unpaired margin)."""
    row = next((r for r in board["models"] if int(r["version"]) == active.version), None)
    if row is not None:
        return judge_rows(row, best)
    return judge(float(active.val_mae), float(best["val_mae"]))


def _board_activation(reservoir: str, board: dict[str, Any], active: int | None, unit: str | None) -> None:
    """Whether the recommended model was made active, and a control to activate any compared version."""
    outcome = st.session_state.pop(f"{K}compare_flash", None)  # what the Activate button below did
    rows = {int(r["version"]): r for r in board["models"]}
    if isinstance(outcome, str):
        st.success(outcome, icon=":material/check_circle:")
    elif board.get("activated") is not None:
        v = int(board["activated"])
        name = model_label(rows[v]["model"]) if v in rows else "?"
        st.success(
            f"The recommended model ({ui.md_escape(name)}, version {v}) was made the active model when the "
            f"comparison finished, as {ui.md_escape(reservoir)} had no active model yet: forecasts use it. Later "
            "comparisons only recommend; you decide whether to activate.",
            icon=":material/check_circle:",
        )
    else:
        _recommend(reservoir, board, active, unit)
    if isinstance(outcome, BaseException):
        ui.show_error(outcome)
    existing = {m.version for m in ui.workspace().versions(reservoir)}
    versions = [v for v in rows if v in existing]
    if not versions:
        st.caption("The compared versions have since been deleted on the Models page.")
        return
    if not ui.allowed("activate", "Activating a compared version"):  # a viewer sees the lock, not a live button
        return
    if st.session_state.get(f"{K}compare_version") not in versions:
        st.session_state[f"{K}compare_version"] = versions[0]

    def describe(v: int) -> str:
        r = rows[v]
        notes = [n for n, on in (("recommended", r["model"] == board.get("best")), ("active", v == active)) if on]
        return f"version {v} · {_name(r)}" + (f" ({', '.join(notes)})" if notes else "")

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
        on_click=ui.activate_version,
        args=(reservoir, int(version), f"{K}compare_flash"),
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
    ui.show_chart(
        charts.leaderboard_bars(board, metric or "skill", unit=unit),
        f"leaderboard-{metric}-job-{job_id}",
        f"{K}compare_bars",
    )
    st.markdown("**Error by lead day**: how each model's average miss grows the further ahead it looks.")
    ui.show_chart(
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
        format_func=model_label,
        help="Pick a few models to compare their forecasts (the recommended and the default one to start).",
    )
    if not chosen:
        st.caption("Pick at least one model to draw these two charts.")
        return
    scatter_col, residual_col = st.columns(2)
    with scatter_col:
        ui.show_chart(
            charts.observed_vs_predicted(board, chosen, int(lead), unit),
            f"observed-vs-forecast-day{lead}-job-{job_id}",
            f"{K}compare_scatter",
        )
        st.caption("Each dot is one test day; on the dotted 1:1 line the forecast was exactly right.")
    with residual_col:
        ui.show_chart(
            charts.residual_distribution(board, chosen, int(lead), unit, height=460),
            f"forecast-errors-day{lead}-job-{job_id}",
            f"{K}compare_residuals",
        )
        st.caption(
            "Forecast minus what happened (above 0 = too high): the box holds the middle half of the misses, the "
            "line inside is the median and the dashed one the mean; a box centred on 0 means no systematic bias."
        )


def _leaderboard(reservoir: str, job: Job) -> None:
    """A finished comparison: the verdict first, then the ranked table, activation and the charts."""
    board = job.result or {}
    rows = board["models"]
    unit = ui.unit_of(reservoir, board.get("target"))
    test = (board.get("test") or {}).get("issued") or []
    n_windows = rows[0]["metrics"].get("n_windows") or len(test)
    st.subheader(f"Leaderboard: {len(rows)} models forecasting {ui.md_escape(board.get('target', '?'))}")
    period = f", issued {test[0]} to {test[-1]}" if test else ""
    st.caption(
        f"Job #{job.id}, finished {ui.fmt_time(job.finished or job.created)}. "
        f"Test scores over {n_windows} forecasts{period}."
    )
    verdict = ui.md_escape(board.get("verdict") or "")
    if _beats_persistence(rows):
        st.info(f"**Verdict**: {verdict}", icon=":material/emoji_events:")
    else:
        st.warning(f"**Verdict**: {verdict}", icon=":material/warning:")
    for failure in board.get("failed") or []:
        st.warning(
            f"{ui.md_escape(model_label(failure['model']))} could not be trained here: "
            f"{ui.md_escape(failure['error'])}",
            icon=":material/warning:",
        )
    st.markdown(RANKING_EXPLAINED)
    record = ui.workspace().active_version(reservoir)
    active = record.version if record is not None else None
    _leaderboard_table(board, active, unit)
    _board_activation(reservoir, board, active, unit)
    _board_charts(board, unit, job.id)


def _compare_outcome(reservoir: str, job: Job) -> None:
    """The latest comparison: its leaderboard, or why it has none (and what it saved before it ended)."""
    when = ui.fmt_time(job.finished or job.created)
    result = job.result or {}
    what = f"The last model comparison (job #{job.id}, {when})"
    if job.status == "failed":
        st.error(f"{what} failed: {ui.md_escape(job.message)}", icon=":material/error:")
    elif job.status == "interrupted":
        st.warning(f"{what} was interrupted: {ui.md_escape(job.message)}", icon=":material/warning:")
    elif job.status == "stopped":
        n = len(result.get("models") or [])
        total = len(job.params.get("models") or [])
        st.info(
            f"{what} was stopped by you after {n} of {total} models; the finished ones are ranked below.",
            icon=":material/stop_circle:",
        )
    if "verdict" in result:
        _leaderboard(reservoir, job)
        return
    done = result.get("done") or []
    if done:
        names = ", ".join(f"{ui.md_escape(_name(r))} (version {r['version']})" for r in done)
        st.caption(f"Saved before it ended, and listed on the Models page: {names}.")


def _start_compare(reservoir: str) -> None:
    """Pick the zoo members, reuse the training settings, start the comparison in the background."""
    if not ui.allowed("train", "Comparing models"):
        return
    if f"{K}compare_models" not in st.session_state:
        st.session_state[f"{K}compare_models"] = list(MODEL_NAMES)
    picked = st.multiselect(
        "Models to compare",
        list(MODEL_NAMES),
        key=f"{K}compare_models",
        format_func=model_label,
        help=MEMBERS_HELP,
    )
    st.caption(
        "Each model is trained with the settings below, on the same days, and saved as a version. The neural "
        "networks take longest; the whole set takes several times as long as one training run."
    )
    config = settings_form(
        reservoir,
        f"Compare {len(picked)} model{'s' if len(picked) != 1 else ''}",
        f"{K}compare_start",
        "Train the chosen models one after another in the background and rank them.",
    )
    if config is None:
        return
    if not picked:
        ui.show_error(ValueError("Pick at least one model to compare."))
        return
    try:
        start_comparison(ui.workspace(), reservoir, config, picked)
    except ValueError as exc:
        ui.show_error(exc)
        return
    open_tab_next(TAB_COMPARE)
    st.rerun()


def compare_tab(reservoir: str, running: Job | None, jobs: list[Job]) -> None:
    """The model zoo: the latest leaderboard, then the form for a new comparison."""
    job_tab(
        running is not None,
        latest_job(jobs, COMPARE),
        ("Settings for another comparison", "New comparison"),
        lambda job: _compare_outcome(reservoir, job),
        lambda: _start_compare(reservoir),
        intro="Train several kinds of model on the same days and see which forecasts this reservoir best, "
        "next to the simple guess 'tomorrow = today'. Every model is saved as a version you can activate.",
    )


if __name__ == "__main__":  # run on its own (Streamlit's pages/ discovery): the app, never this section alone
    ui.run_page()
