"""Release scenarios: physics (more release never more storage), nested bands, no leakage, clear refusals, CLI."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from core.app.pipeline import add_sample, import_csv, train_reservoir
from core.app.whatif import (
    ScenarioUnavailable,
    learned_balance,
    learned_effect,
    unavailable_reason,
    what_if,
    what_if_hindcast,
)
from core.cli.main import main
from core.cli.whatif import WhatIfError, parse_what_if
from core.data.sample import SAMPLE_NAME
from core.forecast.effect import MIN_EFFECT_WINDOWS, EffectSettings, fit_effect, from_balance
from core.forecast.scenario import ScenarioError, fit_balance, plan
from core.model.config import ModelConfig
from core.store.workspace import UploadInfo, Workspace
from tests.conftest import tiny_config

EDGES = ("lower_95", "lower_80", "lower_50", "value", "upper_50", "upper_80", "upper_95")
DAY = "2023-06-01"  # inside the sample's test period


@pytest.fixture(scope="module")
def storage_ws(tmp_path_factory) -> Workspace:
    """The sample reservoir with a tiny one-shot (ridge) storage model on inflow and release."""
    ws = Workspace(tmp_path_factory.mktemp("whatif") / "ws")
    add_sample(ws)
    train_reservoir(ws, SAMPLE_NAME, tiny_config("storage", ("inflow", "outflow"), model=ModelConfig(name="ridge")))
    return ws


def _edges(fc) -> np.ndarray:
    """(7 edges x lead days): the band edges and the median of a forecast."""
    return np.array([[getattr(p, k) for p in fc.points] for k in EDGES], float)


def test_the_balance_recovers_the_unit_conversion_from_constructed_records():
    """dS = 0.0864 (I - R) - 0.05 in hm³ from m³/s: the fit finds b = 0.0864 and the loss, on training days only."""
    rng = np.random.default_rng(0)
    days = pd.date_range("2020-01-01", periods=400, freq="D")
    inflow = pd.Series(20 + 10 * np.sin(np.arange(400) / 30) + rng.normal(0, 2, 400), days)
    release = pd.Series(15 + rng.normal(0, 3, 400), days)
    change = 0.0864 * (inflow - release) - 0.05
    storage = 100 + change.cumsum()
    storage.iloc[300:] += 50  # a jump after the training end must not reach the fit
    balance = fit_balance(storage, inflow, release, "2020-01-01", "2020-09-30")
    assert balance.release_coef == pytest.approx(0.0864, rel=1e-6)
    assert balance.inflow_coef == pytest.approx(0.0864, rel=1e-6)
    assert balance.loss == pytest.approx(0.05, rel=1e-4)
    assert balance.explained > 0.999 and balance.end == "2020-09-30"


def test_the_release_coefficient_is_never_negative():
    """Storage that rises with the release (a mislabelled column) gives b = 0, never a release that fills the pool."""
    days = pd.date_range("2020-01-01", periods=200, freq="D")
    release = pd.Series(np.linspace(1, 20, 200), days)
    storage = (release * 0.5).cumsum()
    balance = fit_balance(storage, pd.Series(np.ones(200), days), release, "2020-01-01", "2020-12-31")
    assert balance.release_coef == 0.0


def _follow_inflow(n: int = 400, follow: float = 0.4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Plain-forecast errors (b = 1, 7 lead days) where each released unit came with `follow` units of inflow.

    The plain forecast carries today's release and inflow on; e_h = sum_{k<=h} [I_k - R_k] in deviations, with
    I_k = follow * R_k + noise (operators pass on part of an inflow nobody told the model about).
    """
    rng = np.random.default_rng(seed)
    release = rng.normal(0, 10, (n, 7))
    inflow = follow * release + rng.normal(0, 2, (n, 7))
    return np.cumsum(inflow - release, axis=1) + rng.normal(0, 0.5, (n, 7)), release


def _told_mae(effect, resid: np.ndarray, dev: np.ndarray) -> float:
    """MAE of the plain forecast moved by the effect for the recorded deviations."""
    return float(np.mean(np.abs(resid - effect.apply(dev, np.zeros(len(dev))))))


def test_the_learned_effect_finds_what_a_release_went_with_and_beats_the_balance():
    """Releases that pass on 40 % of the unknown inflow: a released unit went with 0.6 less storage, not b = 1."""
    resid, dev = _follow_inflow()
    fit, test = slice(0, 300), slice(300, None)
    effect = fit_effect(resid[fit], dev[fit], 1.0, EffectSettings(ridge="none"))
    np.testing.assert_allclose(np.diff(effect.per_unit(), prepend=0), -0.6, atol=0.05)  # each day's release
    assert _told_mae(effect, resid[test], dev[test]) < 0.8 * _told_mae(from_balance(1.0, 7), resid[test], dev[test])
    lagged = fit_effect(resid[fit], dev[fit], 1.0, EffectSettings(lagged=True, ridge="none"))
    assert (lagged.matrix() <= 0).all() and np.allclose(np.triu(lagged.matrix(), 1), 0)  # no effect before a day


def test_storage_never_rises_with_a_release_even_when_the_record_says_so():
    """Releases that follow the inflow more than one for one: the coefficient is clipped to 0, and the words say so."""
    resid, dev = _follow_inflow(follow=1.8)  # E[dS | R] > 0: higher releases came with rising storage
    for settings in (EffectSettings(ridge="none"), EffectSettings(lagged=True, ridge="none"), EffectSettings()):
        effect = fit_effect(resid, dev, 1.0, settings)
        assert (effect.matrix() <= 0).all()
        rates = np.full((1, 7), 5.0)
        for day in range(7):  # one more unit on any single day never raises any lead day
            more = rates.copy()
            more[0, day] += 1
            assert (effect.apply(more, [5.0]) <= effect.apply(rates, [5.0]) + 1e-12).all()
    effect = fit_effect(resid, dev, 1.0, EffectSettings(ridge="none"))
    assert (effect.per_unit() == 0).all()
    assert "The record shows no release effect at day 1, 2, 3, 4, 5, 6, 7." in effect.words("cfs", "acre-ft")


def test_a_short_validation_record_falls_back_to_the_water_balance():
    """Fewer complete validation forecasts than MIN_EFFECT_WINDOWS: -b per day, said in the words."""
    resid, dev = _follow_inflow(n=MIN_EFFECT_WINDOWS - 1)
    effect = fit_effect(resid, dev, 0.5, EffectSettings())
    assert effect.source == "balance" and np.allclose(effect.per_unit(), -0.5 * np.arange(1, 8))
    assert "from the water balance (too few validation forecasts" in effect.words()
    twice = np.vstack([resid, resid])
    twice[0, 3] = np.nan  # a row with a gap is dropped, never filled
    assert fit_effect(twice, np.vstack([dev, dev]), 0.5).windows == 2 * len(resid) - 1


def test_a_constant_bias_gets_an_intercept_only_when_cross_validation_asks_for_it():
    """A plain model 5 units low every day: 'if it helps' adds the intercept; 'never' keeps the plain forecast's own."""
    resid, dev = _follow_inflow(n=1000)
    helps = fit_effect(resid + 5.0, dev, 1.0, EffectSettings(intercept="if it helps", ridge="none"))
    np.testing.assert_allclose(helps.intercept, 5.0, atol=0.5)
    assert fit_effect(resid + 5.0, dev, 1.0, EffectSettings(ridge="none")).intercept == (0.0,) * 7


def test_the_release_effect_reads_nothing_after_the_validation_split(storage_ws, tmp_path):
    """Test-period readings changed: the learned effect (and the balance) are the same; a validation day's is not."""
    loaded = storage_ws.load_version(SAMPLE_NAME)
    balance = learned_balance(storage_ws, SAMPLE_NAME, loaded)
    before = learned_effect(storage_ws, SAMPLE_NAME, loaded, balance)
    copy = Workspace(shutil.copytree(storage_ws.root, tmp_path / "copy"))
    end = pd.Timestamp(loaded.record.splits["val"][1])
    raw = copy.readings(SAMPLE_NAME, ["storage", "inflow", "outflow"])
    later = raw.loc[end + pd.Timedelta(days=1) :] * 1.5
    _merge(copy, later)
    assert learned_effect(copy, SAMPLE_NAME, loaded, balance) == before
    inside = raw.loc[end - pd.Timedelta(days=120) : end - pd.Timedelta(days=60), ["outflow"]] * 3.0
    _merge(copy, inside)
    assert learned_effect(copy, SAMPLE_NAME, loaded, balance) != before


def test_a_larger_release_never_gives_a_higher_storage_forecast(storage_ws):
    """Medians, every band edge and every ensemble member fall (or stay) as the planned release grows."""
    rates = (0.0, 5.0, 20.0, 80.0)
    result = what_if(storage_ws, SAMPLE_NAME, [plan(f"r{r}", [r]) for r in rates])
    edges = [_edges(s.forecast) for s in result.scenarios]
    for smaller, larger in zip(edges, edges[1:], strict=False):
        assert (larger <= smaller + 1e-9).all()
        assert (larger[3] < smaller[3]).all() or (larger[3] == 0).all()  # the median really moves
    samples = [s.forecast.samples for s in result.scenarios]
    assert all((b <= a + 1e-9).all() for a, b in zip(samples, samples[1:], strict=False))
    assert result.balance.release_coef == pytest.approx(0.0864, rel=0.05)  # m³/s for a day = 0.0864 hm³
    # the sample's releases do not follow its inflow: the effect learned on validation is close to the balance
    assert result.effect.source == "validation" and result.effect.windows >= MIN_EFFECT_WINDOWS
    assert -result.effect.per_unit()[-1] == pytest.approx(7 * result.balance.release_coef, rel=0.1)


def test_scenario_bands_are_nested_and_contain_the_median(storage_ws):
    """lower 95 <= lower 80 <= lower 50 <= median <= upper 50 <= upper 80 <= upper 95 on every day."""
    result = what_if(storage_ws, SAMPLE_NAME, [plan("per day", [1, 2, 3, 4, 5, 6, 7]), plan("big", [30])])
    for s in result.scenarios:
        e = _edges(s.forecast)
        assert (np.diff(e, axis=0) >= -1e-9).all()
        assert (e[-1] > e[0]).all()  # real bands, not zero width
        assert s.forecast.alerts is not None and set(s.forecast.alerts) == {"flood", "drought"}
    assert [r["scenario"] for r in result.table()] == ["plain forecast", "per day", "big"]


def _merge(ws: Workspace, frame: pd.DataFrame) -> None:
    """Overwrite some readings of the sample reservoir (as a corrected upload would)."""
    units = {c: ws.reservoir(SAMPLE_NAME).variable(c).unit for c in frame.columns}
    ws.merge({SAMPLE_NAME: frame}, {SAMPLE_NAME: units}, UploadInfo(filename="perturbed.csv", sha256=str(frame.sum())))


def _scenario_numbers(ws: Workspace) -> list[np.ndarray]:
    """The plain and 'recorded' forecasts (medians and bands) of the hindcast issued on DAY."""
    (result,) = what_if_hindcast(ws, SAMPLE_NAME, DAY, DAY, [plan("recorded", None), plan("ten", [10])])
    return [_edges(result.plain)] + [_edges(s.forecast) for s in result.scenarios]


def test_recorded_reads_only_the_releases_of_the_forecast_days(storage_ws, tmp_path):
    """Later storage/inflow and releases after the last forecast day change nothing; a forecast day's release does."""
    before = _scenario_numbers(storage_ws)
    copy = Workspace(shutil.copytree(storage_ws.root, tmp_path / "copy"))
    day = pd.Timestamp(DAY)
    raw = copy.readings(SAMPLE_NAME, ["storage", "inflow", "outflow"])
    later = raw.loc[day + pd.Timedelta(days=1) :].copy()
    later[["storage", "inflow"]] *= 1.3
    later.loc[day + pd.Timedelta(days=8) :, "outflow"] *= 3.0
    _merge(copy, later)
    after = _scenario_numbers(copy)
    for a, b in zip(before, after, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=0)
    inside = raw.loc[[day + pd.Timedelta(days=3)], ["outflow"]] * 5.0  # a forecast day's own release
    _merge(copy, inside)
    changed = _scenario_numbers(copy)
    assert not np.allclose(changed[1], before[1])  # the recorded scenario follows it
    np.testing.assert_allclose(changed[2], before[2], rtol=0, atol=0)  # a planned one does not


def test_a_reservoir_without_release_record_says_why(workspace, tmp_path):
    """Storage and inflow but no outflow: the reason names the missing release record and what to import."""
    csv = tmp_path / "no_release.csv"
    days = pd.date_range("2020-01-01", periods=60, freq="D")
    pd.DataFrame({"date": days.date, "storage": np.linspace(10, 20, 60), "inflow": 5.0}).to_csv(csv, index=False)
    import_csv(workspace, csv, reservoir="Dry Lake")
    reason = unavailable_reason(workspace, "Dry Lake")
    assert "no release (outflow) record" in reason and "Import daily releases" in reason
    with pytest.raises(ScenarioUnavailable, match="no release"):
        what_if(workspace, "Dry Lake", [plan("x", [1])])


def test_a_level_model_is_told_scenarios_need_storage(storage_ws):
    """A model forecasting level: the reason says scenarios move a storage forecast; a storage model runs them."""
    assert "forecasts level" in unavailable_reason(storage_ws, SAMPLE_NAME, "level")
    assert unavailable_reason(storage_ws, SAMPLE_NAME, "storage") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("inflow=5", "only the release can be planned"),
        ("outflow=-3", "cannot be negative"),
        ("outflow=1,x,3", "'x' is not a release rate"),
        ("outflow", "needs the form outflow=VALUE"),
    ],
)
def test_what_if_values_that_cannot_be_read_name_the_problem(text, message):
    """Each malformed --what-if fails with a message that names what is wrong."""
    with pytest.raises(WhatIfError, match=message):
        parse_what_if(text)


def test_what_if_reads_constant_per_day_and_recorded():
    """outflow=V, release=V1,...,V7 and outflow=recorded."""
    assert parse_what_if("outflow=12.5").rates == (12.5,)
    assert parse_what_if("Release = 1,2,3,4,5,6,7").rates == (1, 2, 3, 4, 5, 6, 7)
    assert parse_what_if("outflow=recorded").recorded
    with pytest.raises(ScenarioError, match="gives 3 release values; give 1 .* or 7"):
        parse_what_if("outflow=1,2,3").daily(7)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """Run the CLI in-process and capture what it printed."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_forecast_what_if_json_carries_each_scenario(storage_ws, capsys):
    """`forecast --what-if` twice: --json holds both scenarios, the second (larger) lower every day."""
    ws = str(storage_ws.root)
    code, out, err = run(capsys, "--workspace", ws, "forecast", "--reservoir", SAMPLE_NAME, "--what-if",
                         "outflow=2", "--what-if", "outflow=40", "--json")  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    low, high = data["what_if"]["scenarios"]
    assert [d["value"] for d in high["forecast"]] < [d["value"] for d in low["forecast"]]
    assert low["kind"] == "constant" and low["releases"] == [2.0] * 7
    assert data["forecast"] and data["what_if"]["balance"]["release_coef"] > 0
    effect = data["what_if"]["release_effect"]
    assert effect["source"] == "validation" and all(v < 0 for v in effect["per_unit"])
    code, out, err = run(capsys, "--workspace", ws, "forecast", "--reservoir", SAMPLE_NAME, "--what-if", "outflow=40")
    assert code == 0 and "outflow=40: 40 m³/s every day; day 7" in out and "Water balance learned on" in out
    assert "Release effect learned from" in out and "validation forecasts" in out


def test_cli_what_if_errors_are_one_line(storage_ws, capsys):
    """A wrong count or a recorded plan for a live forecast: exit 2, one line naming the problem, no traceback."""
    ws = str(storage_ws.root)
    code, _, err = run(capsys, "--workspace", ws, "forecast", "--reservoir", SAMPLE_NAME, "--what-if", "outflow=1,2")
    assert code == 2 and "gives 2 release values" in err and "Traceback" not in err
    code, _, err = run(
        capsys, "--workspace", ws, "forecast", "--reservoir", SAMPLE_NAME, "--what-if", "outflow=recorded"
    )
    assert code == 2 and "are not recorded" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "--workspace", ws, "forecast", "--reservoir", SAMPLE_NAME, "--what-if", "rain=3")
    assert code == 2 and "only the release can be planned" in err


def test_cli_hindcast_what_if_recorded(storage_ws, capsys):
    """`hindcast --what-if outflow=recorded --json`: each day carries the recorded releases it replayed."""
    ws = str(storage_ws.root)
    code, out, err = run(capsys, "--workspace", ws, "hindcast", "--reservoir", SAMPLE_NAME, "--from", DAY,
                         "--to", "2023-06-03", "--what-if", "outflow=recorded", "--json")  # fmt: skip
    assert code == 0, err
    days = json.loads(out)["hindcasts"]
    assert len(days) == 3
    recorded = storage_ws.readings(SAMPLE_NAME, ["outflow"])["outflow"]
    first = days[0]["what_if"]["scenarios"][0]
    expected = recorded.loc["2023-06-02":"2023-06-08"].tolist()
    assert first["kind"] == "recorded" and first["releases"] == pytest.approx(expected)


def test_the_what_if_chart_draws_the_plain_forecast_and_each_scenario(storage_ws):
    """One legend entry per scenario after the plain forecast, each with a shaded 80 % band behind it."""
    from core.charts import scenario_figure

    result = what_if(storage_ws, SAMPLE_NAME, [plan("low", [1]), plan("high", [40])])
    fig = scenario_figure(result)
    named = [t.name for t in fig.data if t.showlegend is not False]
    assert named == ["plain forecast (today's release carries on)", "low", "high", "last reading"]
    assert sum(t.fill == "toself" for t in fig.data) == 3
