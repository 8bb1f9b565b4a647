"""The sample reservoir is what a new user first forecasts: it must be deterministic, clean and physically sound."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data.levels import OperatingLevel, check_level
from core.data.sample import (
    M3S_TO_HM3_PER_DAY,
    SAMPLE_NAME,
    SampleConfig,
    SampleReservoir,
    _simulate,
    level_to_storage,
    make_sample,
    storage_to_level,
)

COLUMNS = ["level", "storage", "inflow", "outflow", "rainfall"]


@pytest.fixture(scope="module")
def sample() -> SampleReservoir:
    """The default sample, built once for the read-only checks."""
    return make_sample()


def _level(sample: SampleReservoir, name: str) -> OperatingLevel:
    return next(lv for lv in sample.levels if lv.name == name)


def test_same_seed_gives_identical_frames_and_other_seed_differs(sample: SampleReservoir) -> None:
    """Tests and the README rely on the default sample being byte-for-byte repeatable."""
    again = make_sample(SampleConfig())
    pd.testing.assert_frame_equal(sample.frame, again.frame)
    other = make_sample(SampleConfig(seed=8))
    assert other.frame.index.equals(sample.frame.index)
    assert not np.allclose(other.frame["level"], sample.frame["level"])
    assert not np.allclose(other.frame["rainfall"], sample.frame["rainfall"])


def test_frame_follows_the_data_convention(sample: SampleReservoir) -> None:
    """Downstream code expects a tz-naive daily 'date' index and exactly the canonical float columns."""
    frame = sample.frame
    assert list(frame.columns) == COLUMNS
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    idx = frame.index
    assert isinstance(idx, pd.DatetimeIndex) and idx.name == "date" and idx.tz is None
    assert idx.is_monotonic_increasing and idx.is_unique
    assert (idx == idx.normalize()).all()
    assert idx[0] == pd.Timestamp("2012-01-01") and idx[-1] == pd.Timestamp("2023-12-31")
    assert len(frame) >= 10 * 365
    assert ((idx[1:] - idx[:-1]) == pd.Timedelta(days=1)).all()  # no gaps
    assert not frame.isna().any().any()
    assert (frame[["storage", "outflow", "rainfall"]] >= 0).all().all()
    assert sample.name == SAMPLE_NAME
    assert sample.units == {"level": "m", "storage": "hm³", "inflow": "m³/s", "outflow": "m³/s", "rainfall": "mm"}
    assert sample.capacity_hm3 == pytest.approx(float(level_to_storage(_level(sample, "Full supply").value)))


def test_config_is_json_safe_and_bad_configs_say_what_to_change() -> None:
    """The workspace stores the config; a wrong one must fail with a message, not a numpy error."""
    config = SampleConfig(seed=3, start="2000-06-01", years=2)
    assert json.loads(json.dumps(config.to_dict())) == {"seed": 3, "start": "2000-06-01", "years": 2}
    short = make_sample(config).frame
    assert short.index[0] == pd.Timestamp("2000-06-01") and short.index[-1] == pd.Timestamp("2002-05-31")
    with pytest.raises(ValueError, match="years must be a whole number"):
        make_sample(SampleConfig(years=0))
    with pytest.raises(ValueError, match="ISO date"):
        make_sample(SampleConfig(start="not a date"))
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        make_sample(SampleConfig(seed=-1))


def test_storage_level_curve_is_monotone_concave_and_invertible(sample: SampleReservoir) -> None:
    """Level and storage must tell the same story, and converting either way must round-trip."""
    storage = np.linspace(0.0, 400.0, 2001)
    level = storage_to_level(storage)
    assert np.all(np.diff(level) > 0)
    assert np.all(np.diff(level, 2) < 0)  # concave: each extra hm³ raises the lake less
    assert level[0] == pytest.approx(280.0)
    assert storage_to_level(sample.capacity_hm3) == pytest.approx(312.0)
    np.testing.assert_allclose(level_to_storage(level), storage, atol=1e-9)
    assert isinstance(storage_to_level(100.0), float) and isinstance(level_to_storage(300.0), float)
    assert level_to_storage(275.0) == 0.0
    # In the frame, storage is read from the gauge through the same curve.
    frame = sample.frame
    np.testing.assert_allclose(storage_to_level(frame["storage"].to_numpy()), frame["level"], atol=1e-3)
    by_level = frame.sort_values(["level", "storage"])
    assert by_level["storage"].is_monotonic_increasing


def test_water_balance_closes() -> None:
    """Storage change is explained by inflow, outflow and evaporation: exactly in the model, to gauge noise in data."""
    config = SampleConfig()
    run = _simulate(config)
    before = np.concatenate([[run.initial_storage], run.storage[:-1]])
    expected = before + (run.inflow - run.release - run.spill) * M3S_TO_HM3_PER_DAY - run.evaporation
    np.testing.assert_allclose(run.storage, expected, atol=1e-9)
    assert (run.evaporation >= 0).all() and (run.evaporation < 0.2).all()

    frame = make_sample(config).frame
    np.testing.assert_allclose(frame["outflow"], run.release + run.spill, atol=5e-4)
    change = np.diff(frame["storage"].to_numpy())
    flows = (frame["inflow"] - frame["outflow"]).to_numpy()[1:] * M3S_TO_HM3_PER_DAY - run.evaporation[1:]
    residual = change - flows
    assert np.abs(residual).max() < 0.3  # mm-scale gauge noise times a ~20 km² lake
    assert abs(residual.mean()) < 0.01  # noise, not a leak


def test_spill_only_above_full_supply_and_storage_bounded(sample: SampleReservoir) -> None:
    """The spillway crest is the full supply level, and the dam is never overtopped."""
    run = _simulate(SampleConfig())
    cap = sample.capacity_hm3
    crest = level_to_storage(_level(sample, "Dam crest").value)
    before = np.concatenate([[run.initial_storage], run.storage[:-1]])
    spilling = run.spill > 0
    assert spilling.sum() > 100
    assert np.all(np.maximum(before, run.storage)[spilling] >= cap - 1e-9)
    assert np.all(run.spill[np.maximum(before, run.storage) < cap] == 0)
    assert run.storage.min() > 0 and run.storage.max() < crest
    # Spill grows with the head over the weir.
    head_order = np.argsort(run.storage[spilling])
    top, bottom = run.spill[spilling][head_order][-20:], run.spill[spilling][head_order][:20]
    assert top.mean() > 5 * bottom.mean()


def test_operating_levels_are_ordered_and_crossed_as_a_demo_needs(sample: SampleReservoir) -> None:
    """Alerts must fire in the demo: spills and droughts happen, flood warning rarely, the crest never."""
    for lv in sample.levels:
        check_level(lv)
        assert lv.unit == "m" and lv.variable == "level"
    values = {lv.name: lv.value for lv in sample.levels}
    assert list(values) == ["Minimum operating", "Drought watch", "Full supply", "Flood warning", "Dam crest"]
    assert list(values.values()) == sorted(values.values())
    sides = {lv.name: (lv.side, lv.severity) for lv in sample.levels}
    assert sides["Minimum operating"] == ("drought", "danger")
    assert sides["Drought watch"] == ("drought", "watch")
    assert sides["Full supply"] == ("flood", "watch")
    assert sides["Flood warning"] == ("flood", "warning")
    assert sides["Dam crest"] == ("flood", "danger")

    level = sample.frame["level"]
    n = len(level)
    above_full = int((level > values["Full supply"]).sum())
    below_watch = int((level < values["Drought watch"]).sum())
    above_warning = int((level > values["Flood warning"]).sum())
    assert 0.02 * n < above_full < 0.5 * n
    assert 0.02 * n < below_watch < 0.3 * n
    assert 0 < above_warning < 0.01 * n
    assert level.max() < values["Dam crest"]
    # Not a fluke of seed 7: other seeds also spill and dip below the watch line, never overtop.
    for seed in (0, 1):
        other = make_sample(SampleConfig(seed=seed)).frame["level"]
        assert (other > values["Full supply"]).any() and (other < values["Drought watch"]).any()
        assert other.max() < values["Dam crest"]


def test_hydrology_looks_real(sample: SampleReservoir) -> None:
    """Seasons, storms, droughts and recessions are what make a forecast of this sample meaningful."""
    frame = sample.frame
    month = frame.index.month
    wet, dry = frame["rainfall"][(month >= 6) & (month <= 9)], frame["rainfall"][(month <= 3)]
    assert wet.mean() > 4 * dry.mean()
    assert (frame["rainfall"] == 0).mean() > 0.4  # many dry days, not drizzle every day
    annual = frame["rainfall"].resample("YS").sum()
    assert annual.min() < 0.7 * annual.median() and annual.max() > 1.3 * annual.median()

    # Inflow rises after heavy rain and recedes over the following days.
    q = frame["inflow"].to_numpy()
    heavy = [i for i in np.flatnonzero(frame["rainfall"].to_numpy() > 40) if 1 <= i < len(q) - 20]
    assert np.mean([q[i + 1] > q[i - 1] for i in heavy]) > 0.8
    assert np.mean([q[i + 20] < q[i + 1] for i in heavy]) > 0.6
    lag = [np.corrcoef(frame["rainfall"][:-k], frame["inflow"][k:])[0, 1] for k in (1, 30)]
    assert lag[0] > lag[1] > 0

    # Demand release is higher in the dry season (outside spill, which is in outflow too).
    release = _simulate(SampleConfig()).release
    assert release[(month >= 3) & (month <= 5)].mean() > 1.3 * release[(month >= 9) & (month <= 11)].mean()

    # A 7-day persistence forecast is far from perfect, yet the level rarely jumps.
    level = frame["level"]
    week_change = (level.shift(-7) - level).abs().mean()
    assert week_change > 0.1
    assert (level.diff() != 0).mean() > 0.95
    assert level.diff().abs().quantile(0.99) < 1.0


def test_to_csv_writes_plain_headers_and_reads_back(sample: SampleReservoir, tmp_path: Path) -> None:
    """The example file must re-import 1:1: ISO dates first, canonical headers, at most 3 decimals."""
    path = tmp_path / "sample.csv"
    sample.to_csv(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "date,level,storage,inflow,outflow,rainfall"
    assert lines[1].startswith("2012-01-01,")
    assert len(lines) == len(sample.frame) + 1
    for line in lines[1:50]:
        for cell in line.split(",")[1:]:
            assert len(cell.split(".")[-1]) <= 3 and "e" not in cell.lower()
    back = pd.read_csv(path, parse_dates=["date"], index_col="date")
    assert list(back.columns) == COLUMNS
    np.testing.assert_allclose(back.to_numpy(), sample.frame.to_numpy(), atol=5e-4, rtol=0)
    assert back.index.equals(sample.frame.index)
