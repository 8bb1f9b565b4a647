"""The water-balance check: a drifting inflow gauge is found over the right period; a clean record flags nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.balance import check_balance

DRIFT_FIRST, DRIFT_LAST = 300, 359  # day numbers of the constructed gauge drift


def _record(drift: float = 0.0, seed: int = 7) -> pd.DataFrame:
    """Two years of storage closing on inflow - release - losses, with the inflow gauge reading high for 60 days."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2012-01-01", periods=730, freq="D", name="date")
    t = np.arange(len(days))
    inflow = 100_000 + 50_000 * np.sin(2 * np.pi * t / 365) + rng.normal(0, 5_000, len(t))
    release = 90_000 + rng.normal(0, 5_000, len(t))
    change = inflow - release - 1_000 + rng.normal(0, 2_000, len(t))
    storage = 5_000_000 + np.cumsum(change)
    recorded = inflow.copy()
    recorded[DRIFT_FIRST : DRIFT_LAST + 1] *= 1 + drift
    return pd.DataFrame({"storage": storage, "inflow": recorded, "outflow": release}, index=days)


def test_clean_record_closes_and_flags_nothing():
    check = check_balance(_record(), {"storage": "acre-ft"})
    assert check.available
    assert check.findings == ()
    assert check.fit.r2 > 0.9
    assert check.fit.a == pytest.approx(1.0, abs=0.02) and check.fit.b == pytest.approx(1.0, abs=0.02)
    assert check.within_share == 1.0
    assert check.verdict == "close the balance well"


def test_drifting_gauge_found_with_its_period_and_size():
    frame = _record(drift=0.10)
    check = check_balance(frame, {"storage": "acre-ft"})
    drifts = check.drifts
    assert len(drifts) == 1, [f.text for f in check.findings]
    found = drifts[0]
    days = frame.index
    assert abs((pd.Timestamp(found.first) - days[DRIFT_FIRST]).days) <= 7
    assert abs((pd.Timestamp(found.last) - days[DRIFT_LAST]).days) <= 7
    excess = 0.10 * frame["inflow"].iloc[DRIFT_FIRST : DRIFT_LAST + 1].sum() / 1.10  # what the gauge over-read
    assert found.size < 0 and abs(found.size) == pytest.approx(excess, rel=0.25)
    assert "less than inflow minus release" in found.text and "acre-ft" in found.text
    assert found.first in found.text and found.last in found.text
    assert check.verdict != "close the balance well"
    assert any("gauge may have drifted" in line for line in check.summary_lines())


def test_one_bad_day_is_a_day_finding_not_a_drift():
    frame = _record()
    frame.iloc[400:, frame.columns.get_loc("storage")] += 200_000  # a storage jump that never comes back
    check = check_balance(frame)
    assert check.drifts == ()
    assert [(f.kind, f.first) for f in check.findings] == [("day", frame.index[400].date().isoformat())]
    assert check.findings[0].size == pytest.approx(200_000, rel=0.1)


def test_missing_release_says_what_is_needed():
    check = check_balance(_record().drop(columns="outflow"))
    assert not check.available
    assert "outflow" in check.reason
    assert check.summary_lines() == [f"water balance: not checked - {check.reason}"]
    assert check.to_dict()["available"] is False


def test_snake_river_records_are_scored(shared_data):
    from core.data.ingest import read_csv

    parsed = read_csv(shared_data / "snake_river" / "Jackson.csv")
    check = check_balance(parsed.frame, parsed.units)
    assert check.available and check.unit == "m³"
    assert check.fit.r2 > 0.9  # Jackson's inflow closes the balance with its storage and release


def check_clue(kind: str) -> str:
    """The words the page shows for a kind of finding."""
    from core.data.balance import CLUES

    return CLUES[kind]


def _csv(frame: pd.DataFrame) -> bytes:
    """The constructed record as a CSV an operator would upload."""
    return frame.rename_axis("date").to_csv().encode()


def test_inspect_prints_the_drift_and_carries_it_in_json(tmp_path, capsys):
    import json

    from core.cli.main import main

    path = tmp_path / "drift.csv"
    path.write_bytes(_csv(_record(drift=0.10)))
    assert main(["inspect", str(path)]) == 0
    text = capsys.readouterr().out
    assert "water balance: the records" in text and "gauge may have drifted" in text
    assert main(["inspect", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True and data["balance"]["available"] is True
    assert [f["kind"] for f in data["balance"]["findings"]] == ["drift"]


def test_inspect_of_a_level_only_file_says_nothing_about_balance(tmp_path, capsys):
    from core.cli.main import main

    path = tmp_path / "level.csv"
    path.write_bytes(_csv(_record()[["storage"]].rename(columns={"storage": "level"}) / 1e4))
    assert main(["inspect", str(path)]) == 0
    assert "water balance" not in capsys.readouterr().out


@pytest.mark.usefixtures("fresh_caches")
def test_data_page_shows_the_score_and_the_drift_period(tmp_path, monkeypatch):
    from core.app.pipeline import import_csv
    from tests.apptest_support import open_page, texts, use_workspace

    ws = use_workspace(tmp_path / "ws", monkeypatch)
    frame = _record(drift=0.10)
    import_csv(ws, _csv(frame), reservoir="Drifty", filename="drifty.csv")
    at = open_page("data", reservoir="Drifty")
    tables = [t.value for t in at.dataframe]
    table = next((t for t in tables if "what to suspect" in t.columns), None)
    assert table is not None, [list(t.columns) for t in tables]
    assert table.iloc[0]["finding"] == "period" and table.iloc[0]["what to suspect"] == check_clue("drift")
    assert abs((pd.Timestamp(table.iloc[0]["first day"]) - frame.index[DRIFT_FIRST]).days) <= 7
    shown = texts(at, ("markdown", "caption"))
    assert "Fitted on" in shown and "1 period(s)" in shown
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Records"] == "Close fairly" and metrics["Days within tolerance"] == "100%"
