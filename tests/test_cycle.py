"""The daily cycle (`python -m core cycle`) on the serial and local engines: inbox, failures, the due rule, retries.

The `check_*` cases are shared with tests/test_cycle_ray.py, which runs them on a real local Ray instance. Models
are ridge regressions on three years of the sample (no TensorFlow in the workers), except one serial run that
trains the default Keras model for a reservoir that has none.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from core.app.pipeline import import_csv, train_reservoir
from core.data.sample import make_sample
from core.fleet.cycle import CycleOptions, run_cycle
from core.fleet.engines import EngineSettings
from core.fleet.inbox import REASON_SUFFIX
from core.fleet.tasks import CrashDrill
from core.model.config import ModelConfig, TrainConfig
from core.store.workspace import Workspace

pytestmark = pytest.mark.slow  # every case runs the daily cycle: it trains; the local engine starts workers

SAMPLE_START, SAMPLE_END = "2021-01-01", "2023-12-31"
EARLY_END = "2023-10-31"  # versions trained on data to here are 61 days behind the full sample: due
JSON_KEYS = {"engine", "seconds", "reservoirs", "inbox", "notifications"}
ROW_KEYS = {"reservoir", "status", "retrained", "version", "alert", "error"}


def sample_frame(end: str = SAMPLE_END, shift: float = 0.0) -> pd.DataFrame:
    """Three years of the sample reservoir (optionally shifted in level), to `end`."""
    frame = make_sample().frame.loc[SAMPLE_START:end].copy()
    frame["level"] = frame["level"] + shift
    return frame


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    """A reservoir CSV as an operator would drop it: a date column and one column per variable."""
    frame.rename_axis("date").reset_index().to_csv(path, index=False)
    return path


def ridge() -> TrainConfig:
    """A fast model that needs no TensorFlow, so worker processes start in seconds."""
    return TrainConfig(target="level", features=("rainfall", "inflow"), model=ModelConfig(name="ridge"))


def add_reservoir(ws: Workspace, name: str, frame: pd.DataFrame, tmp: Path, train: bool = True) -> None:
    """Import a frame as a reservoir through the ordinary import path, and train a ridge version on it."""
    import_csv(ws, write_csv(tmp / f"{name}-seed.csv", frame), reservoir=name)
    if train:
        train_reservoir(ws, name, ridge())


def options(engine: str, **kw: object) -> CycleOptions:
    """Cycle options on an engine, two workers, tiny trainings."""
    return CycleOptions(engine=EngineSettings(name=engine, workers=2), max_epochs=2, **kw)


def version_folders(ws: Workspace) -> list[str]:
    """Every entry under models/ except lock files: stray temp folders would show up here."""
    return sorted(
        str(p.relative_to(ws.models_dir)) for p in ws.models_dir.rglob("*") if p.parent.parent == ws.models_dir
    )


def rows(report: object) -> dict[str, object]:
    """The report's reservoirs by name."""
    return {r.reservoir: r for r in report.reservoirs}


# ---------------------------------------------------------------- cases shared with the Ray tests


def check_inbox(ws: Workspace, tmp: Path, engine: str) -> None:
    """Files are imported and moved; a bad file goes to failed/ with its reason; a taken name is never overwritten."""
    add_reservoir(ws, "Alpha", sample_frame(), tmp)
    inbox = tmp / "inbox"
    (inbox / "processed").mkdir(parents=True)
    (inbox / "processed" / "Alpha.csv").write_text("earlier file\n")
    write_csv(inbox / "Alpha.csv", sample_frame().loc["2023-06-01":])  # already stored days: merge, no change
    write_csv(inbox / "beta_2023.csv", sample_frame(shift=1.0))
    (inbox / "broken.csv").write_text("this is not,a reservoir\nfile,at all\n")
    (inbox / "inbox.toml").write_text('[[file]]\npattern = "beta_*.csv"\nreservoir = "Beta"\n')
    report = run_cycle(ws, options(engine, inbox=str(inbox), retrain="none"))
    got = rows(report)
    assert [i["file"] for i in report.inbox.imported] == ["Alpha.csv", "beta_2023.csv"]
    assert [f["file"] for f in report.inbox.failed] == ["broken.csv"]
    reason = report.inbox.failed[0]["reason"]
    assert reason and (inbox / "failed" / f"broken.csv{REASON_SUFFIX}").read_text().strip() == reason
    assert (inbox / "processed" / "Alpha.csv").read_text() == "earlier file\n"  # not overwritten
    moved = sorted(p.name for p in (inbox / "processed").iterdir())
    assert len(moved) == 3 and "beta_2023.csv" in moved
    assert not list(inbox.glob("*.csv"))  # nothing left waiting
    assert "Beta" in [r.name for r in ws.reservoirs()]
    assert got["Alpha"].status == "ok" and got["Alpha"].version == 1 and got["Alpha"].issued == SAMPLE_END
    assert got["Beta"].status == "failed" and "no model yet" in got["Beta"].error  # --retrain none trains none
    assert report.status == "partial"


def check_failure_isolated(ws: Workspace, tmp: Path, engine: str) -> None:
    """A reservoir whose training fails in its worker is a failed row with the reason; the others are forecast."""
    add_reservoir(ws, "Alpha", sample_frame(), tmp)
    add_reservoir(ws, "Short", sample_frame().iloc[:20], tmp, train=False)  # 20 days: no training window
    report = run_cycle(ws, options(engine, retrain="due"))
    got = rows(report)
    assert got["Short"].status == "failed" and "Not enough history" in got["Short"].error
    assert got["Alpha"].status == "ok" and got["Alpha"].alert
    stored = ws.latest_cycle_results()
    assert stored["Short"].status == "failed" and stored["Alpha"].status == "ok"
    assert next(run for run in ws.cycle_runs() if run.id == report.cycle_id).status == "partial"


def check_due_rule(ws: Workspace, tmp: Path, engine: str) -> None:
    """Due (61 days behind) -> one new version; not due -> none; a rerun does not train again."""
    add_reservoir(ws, "Old", sample_frame(end=EARLY_END), tmp)
    import_csv(ws, write_csv(tmp / "old-rest.csv", sample_frame().loc["2023-11-01":]), reservoir="Old")
    add_reservoir(ws, "Fresh", sample_frame(shift=2.0), tmp)
    first = rows(run_cycle(ws, options(engine, retrain="due")))
    assert first["Old"].retrained and first["Old"].new_version == 2, first["Old"]
    assert "61 days" in first["Old"].retrain_reason
    assert not first["Fresh"].retrained and first["Fresh"].new_version is None
    assert [v.version for v in ws.versions("Old")] == [1, 2] and len(ws.versions("Fresh")) == 1
    assert ws.versions("Old")[-1].data_range[1] == SAMPLE_END
    again = rows(run_cycle(ws, options(engine, retrain="due")))
    assert not again["Old"].retrained and again["Old"].new_version is None
    assert [v.version for v in ws.versions("Old")] == [1, 2]  # no duplicate after a rerun
    assert again["Old"].version == next(v.version for v in ws.versions("Old") if v.active)


def check_worker_retried(ws: Workspace, tmp: Path, engine: str) -> None:
    """A worker that dies after training is retried: one new version, nothing half-written beside it."""
    add_reservoir(ws, "Alpha", sample_frame(), tmp)
    drill = CrashDrill(folder=str(tmp / "drill"), times=1, reservoirs=("Alpha",))
    report = run_cycle(ws, options(engine, retrain="all", drill=drill))
    row = rows(report)["Alpha"]
    assert row.status == "ok" and row.retrained and row.new_version == 2
    assert (tmp / "drill").exists() and [p.read_text() for p in (tmp / "drill").iterdir()] == ["2"]  # two attempts
    assert [v.version for v in ws.versions("Alpha")] == [1, 2]
    assert [p for p in version_folders(ws) if not p.endswith(".lock")] == ["r1/v1", "r1/v2"]


def check_worker_keeps_dying(ws: Workspace, tmp: Path, engine: str) -> None:
    """A task whose worker dies on every attempt is a failed reservoir with the reason; no version, no stray files."""
    add_reservoir(ws, "Alpha", sample_frame(), tmp)
    add_reservoir(ws, "Beta", sample_frame(shift=1.0), tmp)
    drill = CrashDrill(folder=str(tmp / "drill"), times=5, reservoirs=("Alpha",), at="start")
    got = rows(run_cycle(ws, options(engine, retrain="all", drill=drill)))
    assert got["Alpha"].status == "failed" and "attempts" in got["Alpha"].error
    assert got["Beta"].status == "ok" and got["Beta"].new_version == 2
    assert [v.version for v in ws.versions("Alpha")] == [1]
    assert [p for p in version_folders(ws) if not p.endswith(".lock")] == ["r1/v1", "r2/v1", "r2/v2"]


def check_json(ws: Workspace, tmp: Path, engine: str) -> None:
    """`cycle --json` has exactly the documented keys; exit code 3 when a reservoir failed, 0 when all are ok."""
    from core.cli.main import main

    add_reservoir(ws, "Alpha", sample_frame(), tmp)
    args = ["--workspace", str(ws.root), "cycle", "--engine", engine, "--workers", "2", "--retrain", "none", "--json"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(args)
    data = json.loads(out.getvalue())
    assert code == 0 and set(data) == JSON_KEYS and data["engine"] == engine
    assert set(data["inbox"]) == {"imported", "failed", "held"}
    (row,) = data["reservoirs"]
    assert set(row) >= ROW_KEYS and row["status"] == "ok" and row["version"] == 1 and row["error"] is None
    add_reservoir(ws, "Lonely", sample_frame(), tmp, train=False)
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(args) == 3  # Lonely has no model and --retrain none trains none


CASES = [
    check_inbox,
    check_failure_isolated,
    check_due_rule,
    check_worker_retried,
    check_worker_keeps_dying,
    check_json,
]


# ---------------------------------------------------------------- serial + local


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__.removeprefix("check_"))
def test_cycle_local(case, tmp_path):
    """Every case on local spawned processes (the default engine)."""
    case(Workspace(tmp_path / "ws"), tmp_path, "local")


@pytest.mark.parametrize("case", [check_inbox, check_due_rule, check_json], ids=lambda c: c.__name__[6:])
def test_cycle_serial(case, tmp_path):
    """The in-process engine gives the same outcomes (no worker isolation, so no crash drills)."""
    case(Workspace(tmp_path / "ws"), tmp_path, "serial")


def test_first_model_is_the_default_one(tmp_path):
    """A reservoir without a model gets the default Keras model on its main variable, and is forecast by it."""
    from core.model.config import DEFAULT_MODEL

    ws = Workspace(tmp_path / "ws")
    add_reservoir(ws, "New", sample_frame().loc["2022-06-01":], tmp_path, train=False)
    row = rows(run_cycle(ws, options("serial", retrain="due")))["New"]
    assert row.status == "ok" and row.retrained and row.new_version == 1 and row.version == 1
    assert row.model == DEFAULT_MODEL and row.target == "level"
    assert ws.version("New").active and ws.version("New").epochs_run <= 2


def test_retrain_reason_and_skill_rule():
    """The due rule in words: age beyond the setting is due; a low recent skill is due only with enough forecasts."""
    from core.fleet.due import TRAIN_IF_SKILL_DROPPED, TRAIN_NO, TRAIN_YES, DueRule, skill_verdict, verdict
    from core.store.workspace import ModelVersion

    def version(end: str, active: bool = True) -> ModelVersion:
        return ModelVersion.from_dict(
            {"version": 3, "active": active, "meta": {"data": {"range": ["2020-01-01", end]}}}, "R"
        )

    rule = DueRule(after_days=30)
    last = pd.Timestamp("2023-12-31")
    assert verdict("due", None, last, rule).train == TRAIN_YES
    assert verdict("none", None, last, rule).train == TRAIN_NO
    assert verdict("due", version("2023-12-01"), last, rule).train == TRAIN_YES  # 30 days behind
    assert verdict("due", version("2023-12-02"), last, rule).train == TRAIN_IF_SKILL_DROPPED
    assert verdict("due", version("2023-12-02", active=False), last, rule).train == TRAIN_NO
    assert verdict("all", version("2023-12-31"), last, rule).train == TRAIN_YES
    assert skill_verdict(-0.2, 20, rule)[0] and not skill_verdict(-0.2, 5, rule)[0]
    assert not skill_verdict(0.3, 20, rule)[0]


def test_inbox_mapping_errors_stop_only_the_inbox(tmp_path):
    """A broken inbox.toml imports and moves nothing, and says why."""
    from core.fleet.inbox import process_inbox

    ws = Workspace(tmp_path / "ws")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_csv(inbox / "Alpha.csv", sample_frame().iloc[:40])
    (inbox / "inbox.toml").write_text('[[file]]\npattern = "*.csv"\nreservoir = "A"\nvariable = "level"\n')
    outcome = process_inbox(ws, inbox)
    assert not outcome.imported and "not both" in outcome.failed[0]["reason"]
    assert (inbox / "Alpha.csv").exists() and not ws.reservoirs()


def test_cycle_job_reports_progress_per_reservoir(tmp_path, monkeypatch):
    """The dashboard's "Run the cycle now": a cycle job whose progress counts reservoirs; a second start is refused."""
    from core.app import jobs
    from core.fleet import job as cycle_job

    ws = Workspace(tmp_path / "ws")
    add_reservoir(ws, "Alpha", sample_frame(), tmp_path)
    add_reservoir(ws, "Beta", sample_frame(shift=1.0), tmp_path)
    monkeypatch.setattr(jobs, "_launch", lambda ws, job_id: os.getpid())  # the test runs the job body itself
    job_id = cycle_job.start_cycle_job(ws, retrain="none", engine="serial")
    with pytest.raises(ValueError, match="already running"):
        cycle_job.start_cycle_job(ws)
    result = jobs.run_job(ws, job_id, cycle_job.BODIES)
    job = ws.job(job_id)
    assert job.status == "done" and job.progress is not None and (job.progress.index, job.progress.total) == (2, 2)
    assert [r["status"] for r in result["reservoirs"]] == ["ok", "ok"] and result["cycle"] == ws.cycle_runs(1)[0].id


def test_the_dashboard_cycle_job_can_run_the_fleet_model_too(tmp_path, monkeypatch):
    """"Fleet model too" on the Overview: the job's params carry it and its body runs the cycle with --fleet."""
    from core.app import jobs
    from core.fleet import job as cycle_job

    ws = Workspace(tmp_path / "ws")
    add_reservoir(ws, "Alpha", sample_frame(), tmp_path)
    monkeypatch.setattr(jobs, "_launch", lambda ws, job_id: os.getpid())
    seen: list[CycleOptions] = []

    def stop_here(ws, options, progress=None):
        seen.append(options)
        raise KeyboardInterrupt("stopped by the test")

    monkeypatch.setattr(cycle_job, "run_cycle", stop_here)
    plain = cycle_job.start_cycle_job(ws, retrain="none", engine="serial")
    assert ws.job(plain).params["fleet"] is False
    with pytest.raises(KeyboardInterrupt):
        jobs.run_job(ws, plain, cycle_job.BODIES)
    fleet = cycle_job.start_cycle_job(ws, retrain="due", engine="serial", fleet=True)
    assert ws.job(fleet).params == {"retrain": "due", "engine": "serial", "fleet": True}
    with pytest.raises(KeyboardInterrupt):
        jobs.run_job(ws, fleet, cycle_job.BODIES)
    assert [(o.fleet, o.retrain) for o in seen] == [(False, "none"), (True, "due")]


def test_cli_summary_names_each_reservoir_and_refused_file(tmp_path):
    """The human summary: one row per reservoir with its alert or error, and the refused inbox file's reason."""
    from core.cli.main import main

    ws = Workspace(tmp_path / "ws")
    add_reservoir(ws, "Alpha", sample_frame(), tmp_path)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "junk.csv").write_text("a,b\n1,2\n")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--workspace", str(ws.root), "cycle", "--engine", "serial", "--inbox", str(inbox)])
    text = out.getvalue()
    assert code == 0, text
    assert "1 of 1 reservoirs ok" in text and "Alpha" in text and "2023-12-31" in text
    assert "refused junk.csv" in text and "No column of dates" in text


def test_cli_defaults_match_the_rule():
    """The `cycle` flags' defaults are the rule's own (the parser keeps them literal to stay free of pandas)."""
    from core.cli.main import _parser
    from core.fleet.due import DueRule

    args = _parser().parse_args(["cycle"])
    assert (args.retrain_after_days, args.skill_floor) == (DueRule().after_days, DueRule().skill_floor)
    assert (args.retrain, args.engine) == ("due", "local")
