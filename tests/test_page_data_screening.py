"""Data page, screening: a coded run in an upload is listed by its days; a stored out-of-range run gets the
mask / keep / relative choice, and the choice is stored for cleaning (AppTest, the real app)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.app.pipeline import import_csv
from core.app.screening import out_of_range_decisions
from tests.apptest_support import open_page, run, texts, use_workspace

pytestmark = [pytest.mark.usefixtures("fresh_caches"), pytest.mark.slow]  # AppTest runs of 2-5 s each


def _csv(n: int, **columns: np.ndarray) -> bytes:
    days = pd.date_range("2021-01-01", periods=n).strftime("%Y-%m-%d")
    return pd.DataFrame(columns, index=pd.Index(days, name="date")).to_csv().encode()


def test_upload_lists_the_coded_run_by_its_days(tmp_path, monkeypatch):
    use_workspace(tmp_path / "ws", monkeypatch)
    level = 200.0 + 5.0 * np.sin(np.arange(90) / 10.0)
    level[40:46] = -999999.0
    at = open_page("data", reservoir=None)
    at.file_uploader(key="data_files").set_value(("codes.csv", _csv(90, level=level), "text/csv"))
    run(at, None)
    assert "2021-02-10 to 2021-02-15" in texts(at, ("warning",))
    tables = [t.value for t in at.dataframe]
    runs = [t for t in tables if "first day" in t.columns]
    assert runs and runs[0].iloc[0][["first day", "last day", "days"]].tolist() == ["2021-02-10", "2021-02-15", 6]


def test_stored_out_of_range_run_offers_the_decision_and_stores_it(tmp_path, monkeypatch):
    ws = use_workspace(tmp_path / "ws", monkeypatch)
    import_csv(ws, _csv(120, storage=5000.0 + 3.0 * np.arange(120) - 5200.0), reservoir="Pool", filename="p.csv")
    at = open_page("data", reservoir="Pool")
    radio = at.radio(key="data_screen_decision_storage")
    assert radio.value == "mask" and "convention" in radio.label
    radio.set_value("relative")
    run(at, "Pool")
    assert out_of_range_decisions(ws, "Pool") == {"storage": "relative"}
    assert not at.exception


def test_run_table_shows_the_values_of_absurd_and_companion_runs():
    """Walkthrough bug: the 'value' column was empty for findings whose run holds differing values."""
    from core.data.ingest import read_csv
    from pages.data_screening import runs_table

    level = 200.0 + 5.0 * np.sin(np.arange(90) / 10.0)
    storage = 5000.0 + 3.0 * np.arange(90)
    level[40:46] = -999999.0
    storage[40:46] = [12.0, 9.5, 7.0, 11.0, 8.0, 10.0]  # the logger's bogus companions, all different
    storage[60] = 1e300  # an absurd one-off
    parsed = read_csv(_csv(90, level=level, storage=storage), filename="codes.csv")
    table = runs_table(parsed.report.issues)
    by_finding = {(r["column"], r["finding"]): r["value"] for _, r in table.iterrows()}
    assert by_finding[("level", "logger code")] == "-999999"
    companion = next(v for (c, f), v in by_finding.items() if c == "storage" and "companion" in f)
    assert companion == "7 to 12"
    absurd = next(v for (c, f), v in by_finding.items() if c == "storage" and "absurd" in f)
    assert absurd == "1e+300"
    assert (table["value"] != "").all()
