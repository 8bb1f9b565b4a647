"""The CLI contract: JSON shapes other tools rely on, one-line errors with non-zero exits, fast --help."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.cli.main import main
from core.data.sample import SAMPLE_NAME
from core.store.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_does_not_import_heavy_libraries():
    """--help loads no heavy library (TensorFlow/Keras, plotly, sklearn, Ray, streamlit). pandas does load: core
    modules are imported at the top of each module (the layering rule), and most of them work on frames."""
    code = (
        "import sys; from core.cli.main import _parser; _parser().format_help();"
        "heavy = ('tensorflow', 'keras', 'streamlit', 'plotly', 'kaleido', 'sklearn', 'ray');"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_sample_csv_inspect_import_round_trip(tmp_path, capsys):
    ws = str(tmp_path / "ws")
    csv = tmp_path / "sample.csv"
    code, out, _ = run(capsys, "--workspace", ws, "sample", "--csv", str(csv), "--json")
    assert code == 0 and csv.read_text().startswith("date,level,storage,inflow,outflow,rainfall")
    assert json.loads(out)["results"][0]["reservoir"] == "Sample Reservoir"

    code, out, _ = run(capsys, "inspect", str(csv), "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["columns"] == ["level", "storage", "inflow", "outflow", "rainfall"]

    code, out, _ = run(capsys, "--workspace", ws, "import", str(csv), "--reservoir", "Copy", "--json")
    result = json.loads(out)["results"][0]
    rows = len(csv.read_text().splitlines()) - 1  # below the header: one day a row, five variables a day
    assert code == 0 and result["reservoir"] == "Copy" and result["added"] == 5 * rows
    code, out, _ = run(capsys, "--workspace", ws, "import", str(csv), "--reservoir", "Copy", "--json")
    again = json.loads(out)["results"][0]
    assert again["added"] == 0 and again["changed"] == 0 and again["already_imported"]


def test_bad_file_exits_non_zero_with_the_reason(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,level\n2024-01-01,1.0\n2024-01-02,abc\n2024-01-03,1.2\n")
    code, _, err = run(capsys, "--workspace", str(tmp_path / "ws"), "import", str(bad), "--reservoir", "X")
    assert code == 2
    assert "Import refused; nothing was stored." in err
    assert "Column 'level'" in err and "line 3" in err and "'abc'" in err
    assert "Traceback" not in err
    code, out, _ = run(capsys, "--workspace", str(tmp_path / "ws"), "reservoirs", "--json")
    assert code == 0 and json.loads(out)["reservoirs"] == []


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["train", "--reservoir", "Nowhere", "--target", "level"], "Nowhere"),
        (["forecast", "--reservoir", "Nowhere"], "Nowhere"),
        (["import", "missing.csv", "--reservoir", "X"], "not found"),
    ],
)
def test_user_errors_are_one_line_without_traceback(tmp_path, argv, fragment):
    proc = subprocess.run(
        [sys.executable, "-m", "core", "--workspace", str(tmp_path / "ws"), *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert fragment in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_train_forecast_models_json_contract(tmp_path, capsys):
    ws = str(tmp_path / "ws")
    run(capsys, "--workspace", ws, "sample")
    started = time.perf_counter()
    code, out, _ = run(
        capsys,
        "--workspace",
        ws,
        "train",
        "--reservoir",
        "sample reservoir",
        "--target",
        "level",
        "--features",
        "rainfall,inflow",
        "--epochs",
        "2",
        "--batch-size",
        "256",
        "--json",
    )
    wall = time.perf_counter() - started
    assert code == 0
    train = json.loads(out)
    # The reported time is the fit's: every epoch it ran (their own timings, stored with the version) and no more
    # than the whole command took.
    epochs = Workspace(Path(ws)).version(SAMPLE_NAME, 1).meta["history"]
    assert train["version"] == 1 and train["epochs_run"] == len(epochs) == 2  # --epochs 2, patience 10: both ran
    assert sum(e["seconds"] for e in epochs) <= train["train_seconds"] + 0.001 <= wall + 0.001
    for side in ("model", "persistence"):
        assert {"mae", "rmse", "nse", "kge", "mae_by_horizon"} <= set(train["metrics"][side])
    assert "skill_vs_persistence" in train["metrics"]

    code, out, _ = run(capsys, "--workspace", ws, "forecast", "--reservoir", "Sample Reservoir", "--json")
    fc = json.loads(out)
    assert code == 0 and fc["version"] == 1 and fc["target"] == "level"
    assert len(fc["forecast"]) == 7 and {"date", "value"} <= set(fc["forecast"][0])
    assert fc["last_observed"]["date"] < fc["forecast"][0]["date"]

    code, out, _ = run(capsys, "--workspace", ws, "models", "--reservoir", "Sample Reservoir", "--json")
    models = json.loads(out)["models"]
    assert [m["version"] for m in models] == [1] and models[0]["active"]
    assert models[0]["train_seconds"] == train["train_seconds"]  # stored as reported

    code, out, _ = run(capsys, "--workspace", ws, "retrain", "--reservoir", "Sample Reservoir", "--json")
    re = json.loads(out)
    assert code == 0 and re["version"] == 2 and not re["active"]
    assert re["comparison"]["champion"]["version"] == 1 and re["comparison"]["challenger"]["version"] == 2
    assert re["comparison"]["window"] == re["splits"]["test"]
    difference = re["comparison"]["difference"]  # the leaderboard's noise rule: same settings, same data
    assert isinstance(re["comparison"]["meaningful"], bool) and "validation MAE" in difference
    assert difference.startswith("a meaningful" if re["comparison"]["meaningful"] else "no meaningful difference")


@pytest.mark.parametrize(
    "fmt, magic",
    [("png", b"\x89PNG\r\n\x1a\n"), ("svg", b"<svg"), ("pdf", b"%PDF"), ("html", b"<html"), ("csv", b"# reservoir")],
)
def test_export_writes_the_right_file_type(trained_sample, tmp_path, capsys, fmt, magic):
    from core.export.files import ExportError, find_chromium

    ws, _ = trained_sample
    if fmt in ("png", "svg", "pdf"):
        try:
            find_chromium()
        except ExportError as exc:
            pytest.skip(str(exc))
    out = tmp_path / f"chart.{fmt}"
    code, stdout, _ = run(
        capsys,
        "--workspace",
        str(ws.root),
        "export",
        "--reservoir",
        "Sample Reservoir",
        "--format",
        fmt,
        "--out",
        str(out),
        "--json",
    )
    assert code == 0 and json.loads(stdout)["bytes"] == out.stat().st_size > 0
    head = out.read_bytes()[:2000].lstrip(b"\xef\xbb\xbf")
    assert magic in head
    if fmt == "csv":
        text = out.read_text(encoding="utf-8-sig")
        assert "model version: 1" in text and "lower 80% (m)" in text
        assert len([line for line in text.splitlines() if line[:4].isdigit()]) == 7


@pytest.mark.slow
def test_output_cut_short_by_head_ends_quietly(tmp_path):
    """`python -m core ... | head` must end with the SIGPIPE status, not a BrokenPipeError traceback."""
    ws = tmp_path / "ws"
    subprocess.run(
        [sys.executable, "-m", "core", "--workspace", str(ws), "sample"], cwd=ROOT, check=True, capture_output=True
    )
    # `true` exits without reading, so the pipe is closed before the CLI (a second to start) writes.
    cmd = f"{sys.executable} -m core --workspace {ws} levels --reservoir 'Sample Reservoir' --json | true"
    out = subprocess.run(["bash", "-c", cmd + "; echo ${PIPESTATUS[0]}"], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.strip() == "141" and out.stderr == ""
