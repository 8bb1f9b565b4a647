"""QC detectors and the clean daily frame: errors are masked, real hydrology is left alone."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.data import qc
from core.data.clean import clean_daily
from core.data.config import CleanConfig, CleanError
from core.data.ingest import read_csv
from core.data.qc import QcFlag


def _series(values, start: str = "2020-01-01") -> pd.Series:
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="D", name="date"), dtype=float)


def _smooth(n: int = 60, seed: int = 0) -> np.ndarray:
    """A slowly falling storage record with small day-to-day noise."""
    rng = np.random.default_rng(seed)
    return 1000.0 - 2.0 * np.arange(n) + rng.normal(0, 0.5, n)


# ---------------------------------------------------------------- detectors


def test_sentinels_are_exact_codes_only():
    s = _series([1.0, -9999, -999.0, 9999, -99999, 99999, -9998.9, np.nan])
    assert qc.find_sentinels(s).tolist() == [False, True, True, True, True, True, False, False]


def test_impossible_negatives_depend_on_the_variable():
    s = _series([5.0, -1.0, 0.0, np.nan])
    assert qc.find_impossible(s, "Storage_m3").tolist() == [False, True, False, False]
    assert qc.find_impossible(s, "rainfall").tolist() == [False, True, False, False]
    assert not qc.find_impossible(s, "Q_in_m3d").any()  # computed inflow may dip below zero
    assert not qc.find_impossible(s, "POONDI").any()  # unknown variable: no physical limit assumed


def test_one_day_spike_that_returns_is_flagged():
    values = _smooth()
    values[30] += 300.0  # a third of the range, back the next day
    flags = qc.find_spikes(_series(values))
    assert flags.sum() == 1 and flags.iloc[30]


def test_short_excursion_of_up_to_three_days_is_flagged():
    values = _smooth()
    values[20:23] -= 250.0
    flags = qc.find_spikes(_series(values))
    assert flags.iloc[20:23].all() and flags.sum() == 3


def test_step_that_stays_is_not_a_spike():
    values = _smooth()
    values[30:] += 300.0  # a flood fills the reservoir and it stays full
    assert not qc.find_spikes(_series(values)).any()


def test_fast_rise_over_a_few_days_is_not_a_spike():
    values = _smooth()
    values[30:34] += np.array([80.0, 160.0, 240.0, 300.0])
    values[34:] += 300.0
    assert not qc.find_spikes(_series(values)).any()


def test_excursion_longer_than_three_days_is_kept():
    values = _smooth()
    values[20:25] += 300.0
    assert not qc.find_spikes(_series(values)).any()


def test_rain_pulses_are_not_spikes():
    rain = np.zeros(120)
    rain[[10, 40, 41, 90]] = [35.0, 80.0, 12.0, 50.0]
    assert not qc.find_spikes(_series(rain)).any()  # mostly zero: pulses are the signal
    assert not qc.find_spikes(_series(rain + 1.0), variable="rainfall").any()  # depth-like variable


def test_spike_next_to_missing_days_uses_the_nearest_readings():
    values = _smooth()
    values[30] += 300.0
    s = _series(values)
    s.iloc[29] = np.nan
    assert qc.find_spikes(s).iloc[30]


def test_flatline_needs_min_days_of_identical_non_zero_values():
    values = list(_smooth(20)) + [500.0] * 14 + list(_smooth(20, seed=1)) + [0.0] * 40 + [700.0] * 13
    flags = qc.find_flatlines(_series(values))
    assert flags.iloc[20:34].all() and flags.sum() == 14  # zeros (a dry reservoir) and 13 days are fine


def test_missing_reading_does_not_break_a_flatline():
    s = _series([1.0] + [42.0] * 8 + [np.nan] + [42.0] * 8 + [2.0])
    flags = qc.find_flatlines(s)
    assert flags.sum() == 16 and not flags.iloc[9]


def test_detectors_on_the_shared_records(shared_data):
    """Counts that the docs quote; the Minidoka blip is a real jump-and-return, Dec 2015 is real."""
    minidoka = read_csv(shared_data / "snake_river" / "Minidoka.csv").frame["Storage_m3"]
    spikes = qc.find_spikes(minidoka, variable="Storage_m3")
    assert spikes[spikes].index.strftime("%Y-%m-%d").tolist() == ["2015-02-03", "2015-02-04"]
    before, during, after = minidoka["2015-02-02"], minidoka["2015-02-03":"2015-02-04"], minidoka["2015-02-05"]
    assert (during - before).min() > 8e6 and (during - after).min() > 8e6 and abs(after - before) < 1e6

    chennai = read_csv(shared_data / "chennai" / "chennai_reservoir_levels.csv").frame
    for column in chennai.columns:
        flags = qc.find_spikes(chennai[column], variable=column)
        assert 5 <= flags.sum() <= 15
        assert not flags["2015-11-01":"2015-12-31"].any()  # the 2015 flood is real
        assert not qc.find_flatlines(chennai[column])[chennai[column] == 0].any()

    rain = read_csv(shared_data / "chennai" / "chennai_reservoir_rainfall.csv").frame
    assert not any(qc.find_spikes(rain[c], variable=c).any() for c in rain.columns)


# ---------------------------------------------------------------- clean frame


def _frame(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    index = pd.date_range("2020-01-01", periods=n, freq="D", name="date")
    return pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in columns.items()}, index=index)


def test_short_gap_is_interpolated_with_flag_1():
    values = _smooth(40)
    values[10:13] = np.nan
    result = clean_daily(_frame(storage=values))
    assert result.flags["storage"].iloc[10:13].tolist() == [QcFlag.INTERPOLATED] * 3
    expected = np.interp([10, 11, 12], [9, 13], [values[9], values[13]])
    np.testing.assert_allclose(result.values["storage"].iloc[10:13], expected)
    assert result.values.notna().all().all()


def test_long_gap_stays_missing_with_flag_5():
    values = _smooth(40)
    values[10:14] = np.nan  # 4 days > max_gap_days=3
    result = clean_daily(_frame(storage=values))
    assert result.values["storage"].iloc[10:14].isna().all()
    assert (result.flags["storage"].iloc[10:14] == QcFlag.MISSING).all()
    assert result.summary()["storage"]["missing"] == 4


def test_missing_calendar_days_are_inserted_and_filled():
    frame = _frame(level=_smooth(30)).drop(pd.Timestamp("2020-01-05"))
    result = clean_daily(frame)
    assert len(result.values) == 30 and result.values.index.freq == "D"
    assert result.flags.loc["2020-01-05", "level"] == QcFlag.INTERPOLATED


def test_spike_is_masked_and_interpolated():
    values = _smooth()
    original = values[30]
    values[30] += 300.0
    result = clean_daily(_frame(storage=values))
    assert result.flags["storage"].iloc[30] == QcFlag.MASKED_SPIKE
    assert abs(result.values["storage"].iloc[30] - original) < 3.0
    assert result.summary()["storage"]["masked_spike"] == 1
    off = clean_daily(_frame(storage=values), CleanConfig(mask_spikes=False))
    assert off.values["storage"].iloc[30] == values[30] and off.flags["storage"].iloc[30] == QcFlag.OK


def test_sentinel_and_impossible_values_are_masked():
    values = _smooth(30)
    values[5], values[15] = -9999.0, -3.0
    inflow = _smooth(30) - 980.0  # crosses zero on day 10, as computed inflows do
    inflow[5] += 400.0  # the logger's companion beside storage's code: far off inflow's own line
    result = clean_daily(_frame(storage=values, inflow=inflow))
    assert result.flags["storage"].iloc[5] == QcFlag.MASKED_SENTINEL
    assert result.flags["storage"].iloc[15] == QcFlag.MASKED_IMPOSSIBLE
    assert result.values["storage"].iloc[[5, 15]].gt(900).all()
    # inflow may be negative; only its odd value on the day storage holds a no-data code is suspect (a companion)
    others = np.arange(30) != 5
    assert np.array_equal(result.values["inflow"].to_numpy()[others], inflow[others])
    assert (result.flags["inflow"].to_numpy()[others] == QcFlag.OK).all()
    assert result.flags["inflow"].iloc[5] == QcFlag.MASKED_COMPANION
    kept = clean_daily(_frame(storage=values), CleanConfig(mask_impossible=False, mask_spikes=False))
    assert kept.values["storage"].iloc[15] == -3.0


def test_flatline_is_flagged_but_kept():
    values = np.r_[_smooth(10), [700.0] * 15, _smooth(10, seed=2) - 400]
    result = clean_daily(_frame(level=values))
    assert (result.flags["level"].iloc[10:25] == QcFlag.FLATLINE).all()
    assert (result.values["level"].iloc[10:25] == 700.0).all()


def test_edges_before_a_variables_first_reading_stay_missing():
    rain = np.r_[[np.nan] * 5, np.ones(25)]
    result = clean_daily(_frame(level=_smooth(30), rain=rain))
    assert result.values["rain"].iloc[:5].isna().all()
    assert (result.flags["rain"].iloc[:5] == QcFlag.MISSING).all()


def test_denoise_window_applies_a_centred_median():
    values = np.r_[np.full(10, 5.0), [6.0], np.full(10, 5.0)]
    result = clean_daily(_frame(level=values), CleanConfig(mask_spikes=False, denoise_window=3))
    assert (result.values["level"] == 5.0).all()


def test_summary_and_lines_say_what_was_done():
    values = _smooth()
    values[30] += 300.0
    values[10:12] = np.nan
    values[40:50] = np.nan
    result = clean_daily(_frame(storage=values))
    assert result.summary()["storage"] == {
        "interpolated": 2,
        "masked_spike": 1,
        "masked_impossible": 0,
        "masked_sentinel": 0,
        "missing": 10,
        "flatline": 0,
        "masked_companion": 0,
        "out_of_range": 0,
    }
    assert result.summary_lines() == [
        "storage: 1 spike masked and interpolated, 2 days interpolated, "
        "10 days missing (gaps > 3 days or outside the record)"
    ]
    json.dumps(result.summary())
    assert result.flags.dtypes.eq(np.int8).all() and result.values.dtypes.eq(np.float64).all()


def test_clean_config_round_trips_and_rejects_bad_settings():
    config = CleanConfig(max_gap_days=5, denoise_window=7)
    assert CleanConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert CleanConfig.from_dict({}) == CleanConfig()
    with pytest.raises(CleanError, match="Unknown"):
        CleanConfig.from_dict({"max_gap": 3})
    with pytest.raises(CleanError, match="odd"):
        CleanConfig(denoise_window=4)
    with pytest.raises(CleanError, match="max_gap_days"):
        CleanConfig(max_gap_days=-1)


def test_raw_frame_must_be_indexed_by_unique_dates():
    with pytest.raises(CleanError, match="DatetimeIndex"):
        clean_daily(pd.DataFrame({"level": [1.0, 2.0]}))
    index = pd.DatetimeIndex(["2020-01-01", "2020-01-01"], name="date")
    with pytest.raises(CleanError, match="more than once"):
        clean_daily(pd.DataFrame({"level": [1.0, 2.0]}, index=index))


def test_qc_flag_codes_are_the_stored_int8_values_and_summaries_name_them():
    assert [int(f) for f in QcFlag] == list(range(9))  # stored in the workspace: never renumber, only append
    assert (QcFlag.FLATLINE, QcFlag.MASKED_COMPANION, QcFlag.OUT_OF_RANGE) == (6, 7, 8)
    assert QcFlag.MASKED_SPIKE.label == "masked_spike"
    assert set(qc.MASKED_FLAGS) == {
        QcFlag.MASKED_SPIKE,
        QcFlag.MASKED_IMPOSSIBLE,
        QcFlag.MASKED_SENTINEL,
        QcFlag.MASKED_COMPANION,
    }
    index = pd.date_range("2020-01-01", periods=40, name="date")
    values = np.linspace(100.0, 140.0, 40)
    values[5] = -9999.0
    result = clean_daily(pd.DataFrame({"storage": values}, index=index))
    summary = result.summary()["storage"]
    assert list(summary) == [f.label for f in QcFlag if f is not QcFlag.OK]
    assert summary["masked_sentinel"] == 1 and result.flags["storage"].dtype == np.int8
