"""The actions a user can take (import, train, forecast, ...), shared by the CLI and the dashboard pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.data.clean import CleanFrame
from core.data.config import RELATIVE, CleanConfig
from core.data.ingest import ParsedCSV, ReadOptions, read_csv
from core.data.levels import OperatingLevel
from core.data.plausible import plausible_readings
from core.data.screen import spans
from core.display import entered, number
from core.model.config import TrainConfig, TrainError
from core.model.leaderboard import judge
from core.model.train import TrainResult
from core.model.zoo import EpochHook, StopHook
from core.store.workspace import MergeResult, ModelVersion, StoreError, UploadInfo, Workspace

if TYPE_CHECKING:
    from core.data.curves import Curve
    from core.forecast.coverage import RecentCoverage
    from core.forecast.issue import Forecast
    from core.model.uncertainty import ResidualHistory
    from core.registry import LoadedModel
from core.app.curves import stored_curve
from core.app.screening import (
    clean_record,
    coded_days,
    decide_out_of_range,
    out_of_range_decisions,
    stored_units,
)
from core.data.clean import clean_daily
from core.data.columns import ColumnDeclaration, ColumnGuess, check_declarations, guess_columns, proposed_mapping
from core.data.levels import LevelError, check_levels
from core.data.sample import make_sample
from core.data.variables import KINDS, MAIN_VARIABLES, canonical_name, lag_of, main_variable
from core.export.report import history_span, history_window
from core.forecast import risk
from core.forecast.convert import attach, levels_on
from core.forecast.coverage import recent_coverage
from core.forecast.issue import ForecastError, issue, version_forecasts
from core.forecast.risk import DEFAULT_TRIGGER
from core.model.config import DEFAULT_MODEL, ModelConfig, SplitConfig
from core.model.evaluate import compare
from core.model.train import fingerprint, fit
from core.model.uncertainty import recent_change
from core.model.windows import make_windows


class NeedsConfirmation(ValueError):
    """An import that must not go ahead on a guess (the inbox): the columns the Data page would ask about."""

    def __init__(self, filename: str, questions: Sequence[str]):
        self.questions = tuple(questions)
        super().__init__(f"{filename}: not imported on a guess: " + " ".join(self.questions))


class ImportRefused(ValueError):
    """The file has errors; nothing was stored. Carries the validation report for display."""

    def __init__(self, parsed: ParsedCSV):
        self.parsed = parsed
        errors = parsed.report.errors
        first = errors[0].message if errors else "the file could not be read"
        more = f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else ""
        super().__init__(f"{parsed.report.filename}: {first}{more}")


@dataclass(frozen=True)
class ImportOutcome:
    """What an import did: the report it passed and the merge counts per reservoir."""

    report: dict[str, Any]
    results: tuple[MergeResult, ...]
    mapping: dict[str, str] = field(default_factory=dict)
    columns: tuple[ColumnGuess, ...] = ()  # per column: declared or guessed variable and unit, and how sure

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the CLI and the upload log view."""
        return {
            "report": self.report,
            "mapping": self.mapping,
            "columns": [c.to_dict() for c in self.columns],
            "results": [r.to_dict() for r in self.results],
        }

    @property
    def weak_guesses(self) -> list[ColumnGuess]:
        """Columns whose variable and unit were both guessed loosely: the operator should declare them."""
        return [c for c in self.columns if c.weak]


def variable_mapping(columns: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Column -> variable name guessed from the headers; columns that would collide keep their own tidy name."""
    return proposed_mapping(guess_columns(list(columns)))


def import_csv(
    ws: Workspace,
    source: str | Path | bytes,
    *,
    reservoir: str | None = None,
    variable: str | None = None,
    filename: str | None = None,
    options: ReadOptions | None = None,
    mapping: dict[str, str] | None = None,
    units: dict[str, str | None] | None = None,
    declarations: Sequence[ColumnDeclaration] = (),
    stations: dict[str, str] | None = None,
    decisions: dict[str, str] | None = None,
    split_stations: bool = False,
    sure_only: bool = False,
) -> ImportOutcome:
    """Read, validate and merge one file: --reservoir (columns are variables), --variable (columns are reservoirs),
    or neither for an agency file holding several stations (each becomes a reservoir, named as `stations` says or
    by its station id).

    `declarations` (the CLI's --column COL=VARIABLE[:UNIT]) override the guesses, and the checks judge each
    declared column as its declared variable. Readings are stored in the unit given, never converted.
    `decisions` (variable -> mask/keep/relative) is the operator's word on out-of-range values, chosen before the
    import and stored with it. `split_stations`: a file holding several stations goes to one reservoir per station
    even though `reservoir` names one (the inbox's default, the file stem); without it such a file with
    `reservoir` is refused (a one-station agency file then goes to its station too, so a daily feed's file names do
    not matter). `sure_only`: raise NeedsConfirmation instead of storing a weak guess (the inbox).
    """
    if reservoir and variable:
        raise StoreError(
            "Say either which reservoir the file belongs to, or which variable its columns hold (wide file)."
        )
    if declarations and variable:
        raise StoreError("--column declares the columns of a one-reservoir file; use it with --reservoir.")
    options = _declared(options or ReadOptions(), declarations)
    parsed = read_csv(source, filename=filename, options=options)
    if not parsed.report.ok or parsed.frame is None:
        raise ImportRefused(parsed)
    frame = parsed.frame
    problems = check_declarations(declarations, list(frame.columns))
    if problems:
        raise StoreError(" ".join(problems))
    several = parsed.source is not None and parsed.source.multi_station
    if several and reservoir and not split_stations:
        listed = ", ".join(parsed.source.stations)
        raise StoreError(
            f"{parsed.report.filename} holds several stations ({listed}): import it without a reservoir, so each "
            "station becomes a reservoir (named by its id; rename with --station ID=NAME or on the Data page)."
        )
    by_station = (not reservoir and not variable) or bool(split_stations and parsed.source and parsed.source.stations)
    if by_station and (parsed.source is None or not parsed.source.stations):
        raise StoreError(
            "Say either which reservoir the file belongs to, or which variable its columns hold (wide file)."
        )
    upload = UploadInfo(
        filename=parsed.report.filename,
        sha256=parsed.sha256,
        warnings=tuple(i.to_dict() for i in parsed.report.warnings),
    )
    if variable:
        data, unit_map, sources, mapping = _wide_data(frame, variable, units)
        guesses: tuple[ColumnGuess, ...] = ()
    else:
        guesses = tuple(guess_columns(list(frame.columns), declarations, spans(frame), parsed.source))
        weak = [g for g in guesses if g.weak and not (mapping or {}).get(g.column)]
        if sure_only and weak:
            raise NeedsConfirmation(parsed.report.filename, [f"Column '{g.column}': {g.note}." for g in weak])
        groups = _station_groups(frame, parsed, stations) if by_station else {reservoir.strip(): list(frame.columns)}
        data, unit_map, sources, mapping = _reservoir_data(frame, groups, guesses, mapping, units)
        guesses = tuple(g.as_stored(mapping[g.column]) for g in guesses)
    results = ws.merge(data, unit_map, upload, source_columns=sources)
    for name in data:
        for var, decision in (decisions or {}).items():
            if var in data[name].columns:
                decide_out_of_range(ws, name, var, decision)
    return ImportOutcome(report=parsed.report.to_dict(), results=tuple(results), mapping=mapping, columns=guesses)


def _reservoir_data(
    frame: pd.DataFrame,
    groups: dict[str, list[str]],
    guesses: Sequence[ColumnGuess],
    mapping: dict[str, str] | None,
    units: dict[str, str | None] | None,
) -> tuple[dict[str, pd.DataFrame], dict, dict, dict[str, str]]:
    """Each reservoir's frame (columns renamed to variables), units and source headers: the operator's mapping and
    units over the declarations over the guesses (two columns of one reservoir never share a variable; two
    stations may)."""
    declared = {g.column: g for g in guesses if g.variable_source == "declared"}
    mapping = {**(mapping or {}), **{c: g.variable for c, g in declared.items()}}
    units = {**(units or {}), **{g.variable: g.unit for g in declared.values() if g.unit}}
    proposed = {
        c: v for cols in groups.values() for c, v in proposed_mapping([g for g in guesses if g.column in cols]).items()
    }
    mapping = {c: mapping.get(c) or proposed[c] for c in frame.columns}
    read = {g.column: g.unit for g in guesses if g.unit_source in ("declared", "header", "format")}  # never assumed
    data = {name: frame[cols].rename(columns=mapping) for name, cols in groups.items()}
    unit_map = {name: {mapping[c]: units.get(mapping[c], read.get(c)) for c in cols} for name, cols in groups.items()}
    sources = {name: {mapping[c]: c for c in cols} for name, cols in groups.items()}
    return data, unit_map, sources, mapping


def _declared(options: ReadOptions, declarations: Sequence[ColumnDeclaration]) -> ReadOptions:
    """The read options with the operator's declarations, so the checks judge each column as declared."""
    if not declarations:
        return options
    return replace(
        options,
        variables=(*options.variables, *((d.column, d.variable) for d in declarations)),
        units=(*options.units, *((d.column, d.unit) for d in declarations if d.unit)),
    )


def _wide_data(
    frame: pd.DataFrame, variable: str, units: dict[str, str | None] | None
) -> tuple[dict[str, pd.DataFrame], dict, dict, dict[str, str]]:
    """A wide file: every column a reservoir holding the one variable."""
    var = canonical_name(variable)
    mapping = {c: c.strip() for c in frame.columns}
    data = {mapping[c]: frame[[c]].rename(columns={c: var}) for c in frame.columns}
    kind = KINDS.get(var)
    unit = (units or {}).get(var) or (kind.default_unit if kind else None)
    return data, {name: {var: unit} for name in data}, {name: {var: variable} for name in data}, mapping


def _station_groups(frame: pd.DataFrame, parsed: ParsedCSV, stations: dict[str, str] | None) -> dict[str, list[str]]:
    """Reservoir name -> its columns, for an agency file read station by station (named by `stations` or the id)."""
    assert parsed.source is not None
    groups: dict[str, list[str]] = {}
    for column in frame.columns:
        found = parsed.source.column(column)
        station = found.station if found and found.station else ""
        name = ((stations or {}).get(station) or station).strip()
        groups.setdefault(name, []).append(column)
    return groups


def resolve_variables(
    ws: Workspace, reservoir: str, target: str, features: tuple[str, ...]
) -> tuple[str, tuple[str, ...]]:
    """Map user-typed variable names (any case, or the original column header) to stored names."""
    info = ws.reservoir(reservoir)
    return info.variable(target).name, tuple(info.variable(f).name for f in features)


def load_clean(ws: Workspace, reservoir: str, variables: list[str], config: CleanConfig) -> CleanFrame:
    """Stored readings of some variables on a daily calendar, QC-masked (out-of-range values as the operator
    decided), mis-dated days left out and short gaps filled."""
    return clean_record(ws, reservoir, variables, config)


def default_features(ws: Workspace, reservoir: str, target: str) -> tuple[str, ...]:
    """Covariates used when none are named: every other stored variable except other state variables and lagged
    copies of a reading ('level_previous_day', 'storage_last_year': they only repeat the record's own history)."""
    info = ws.reservoir(reservoir)
    return tuple(
        v.name
        for v in info.variables
        if v.name != target
        and v.name not in MAIN_VARIABLES
        and lag_of(v.name) is None
        and lag_of(v.source_column or "") is None
    )


def first_model_config(ws: Workspace, reservoir: str) -> TrainConfig:
    """The settings of a reservoir's first model: the default member on its main reading and default covariates."""
    target = main_variable(ws.reservoir(reservoir).variable_names)
    if target is None:
        raise ValueError(f"Reservoir '{reservoir}' has no readings yet: import some before training a model.")
    features = default_features(ws, reservoir, target)
    return TrainConfig(target=target, features=features, model=ModelConfig(name=DEFAULT_MODEL))


@dataclass(frozen=True)
class TrainSummary:
    """What a finished training run reports: the `train --json` contract and a train job's stored result.

    Pages read it back from the job row with from_dict, which tolerates results written by earlier app
    versions (missing keys become empty); `comparison` is the champion-vs-challenger of a retrain.
    """

    reservoir: str
    version: int
    active: bool
    model: str
    target: str
    features: tuple[str, ...]
    epochs_run: int | None
    best_epoch: int | None
    train_seconds: float | None
    stopped_by_user: bool
    val_mae: float | None
    splits: dict[str, Any]
    n_windows: dict[str, int]
    metrics: dict[str, Any]
    validation_metrics: dict[str, Any]
    data_cleaning: dict[str, Any]
    config: dict[str, Any]
    comparison: dict[str, Any] | None = None

    @property
    def test_period(self) -> tuple[str, str] | None:
        """First and last issue day of the test forecasts, or None when the result does not say."""
        test = self.splits.get("test")
        return (str(test[0]), str(test[1])) if isinstance(test, (list, tuple)) and len(test) == 2 else None

    def to_dict(self) -> dict[str, Any]:
        """JSON form, key for key the CLI's `train --json` output (plus `comparison` after a retrain)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "comparison"}
        out["features"] = list(self.features)
        if self.comparison is not None:
            out["comparison"] = self.comparison
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainSummary:
        """Read a stored result; what an earlier app version did not write reads as empty."""

        def mapping(key: str) -> dict[str, Any]:
            value = data.get(key)
            return value if isinstance(value, dict) else {}

        return cls(
            reservoir=str(data.get("reservoir") or ""),
            version=int(data.get("version") or 0),
            active=bool(data.get("active")),
            model=str(data.get("model") or ""),
            target=str(data.get("target") or ""),
            features=tuple(data.get("features") or ()),
            epochs_run=data.get("epochs_run"),
            best_epoch=data.get("best_epoch"),
            train_seconds=data.get("train_seconds"),
            stopped_by_user=bool(data.get("stopped_by_user")),
            val_mae=data.get("val_mae"),
            splits=mapping("splits"),
            n_windows=mapping("n_windows"),
            metrics=mapping("metrics"),
            validation_metrics=mapping("validation_metrics"),
            data_cleaning=mapping("data_cleaning"),
            config=mapping("config"),
            comparison=data.get("comparison") if isinstance(data.get("comparison"), dict) else None,
        )


@dataclass
class TrainOutcome:
    """A finished training run: the stored version plus the in-memory result."""

    record: ModelVersion
    result: TrainResult
    clean_summary: dict[str, Any]

    def summary(self, comparison: dict[str, Any] | None = None) -> TrainSummary:
        """The run as it crosses to the CLI and pages (a retrain adds its champion-vs-challenger comparison)."""
        r = self.result
        return TrainSummary(
            reservoir=self.record.reservoir,
            version=self.record.version,
            active=self.record.active,
            model=r.config.model.name,
            target=r.config.target,
            features=tuple(r.config.features),
            epochs_run=r.epochs_run,
            best_epoch=r.best_epoch,
            train_seconds=r.train_seconds,
            stopped_by_user=r.stopped_by_user,
            val_mae=r.val_mae,
            splits=r.bounds.to_dict(),
            n_windows=r.n_windows,
            metrics=test_metrics(r.metrics),
            validation_metrics=r.metrics["validation"],
            data_cleaning=self.clean_summary,
            config=r.config.to_dict(),
            comparison=comparison,
        )

    def to_dict(self) -> dict[str, Any]:
        """The CLI's `train --json` contract."""
        return self.summary().to_dict()


def test_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """A version's test scores as `train --json` prints them: model and persistence, skill, per lead day."""
    keys = ("model", "persistence", "skill_vs_persistence", "skill_by_horizon", "n_windows")
    return {k: metrics[k] for k in keys if k in metrics}


def train_reservoir(
    ws: Workspace,
    reservoir: str,
    config: TrainConfig,
    *,
    activate: bool | None = None,
    on_epoch: EpochHook | None = None,
    should_stop: StopHook | None = None,
) -> TrainOutcome:
    """Clean the stored history, fit, and save a new version (activated by the store's rule, beats_active)."""
    name = ws.reservoir(reservoir).name
    target, features = resolve_variables(ws, name, config.target, config.features)
    config = TrainConfig.from_dict({**config.to_dict(), "target": target, "features": list(features)})
    # One training per reservoir at a time, the same rule for CLI, dashboard jobs and the cycle (core.store.locks):
    # held for fit + save; a second training is refused at once with who holds it.
    with ws.training_lock(name):
        clean = load_clean(ws, name, [target, *features], config.clean)
        result = fit(clean.values, config, on_epoch=on_epoch, should_stop=should_stop)
        summary = clean.summary()
        record = ws.save_version(name, result, activate=activate, extra={"data_cleaning": summary})
    return TrainOutcome(record=record, result=result, clean_summary=summary)


def forecast_reservoir(
    ws: Workspace,
    reservoir: str,
    version: int | None = None,
    as_of: str | None = None,
    loaded: LoadedModel | None = None,
    trigger: float | None = None,
) -> Forecast:
    """Forecast with bands, exceedance probabilities and the alert (default: active version, latest readings).

    Pass `loaded` to reuse a model already in memory (the dashboard caches it).
    """
    info = ws.reservoir(reservoir)
    name = info.name
    loaded = loaded or ws.load_version(name, version)
    cfg = loaded.config
    clean = load_clean(ws, name, [cfg.target, *cfg.features], cfg.clean)
    unit = info.variable(cfg.target).unit
    fc = issue(loaded, clean.values, as_of=as_of, unit=unit)
    trigger = alert_trigger(ws, name) if trigger is None else trigger
    return attach(risk.assess(fc, forecast_levels(ws, name, cfg.target), trigger), stored_curve(ws, name))


def forecast_levels(ws: Workspace, reservoir: str, variable: str) -> list[OperatingLevel]:
    """The levels a forecast of `variable` is judged by: its own and, through the curve, the other variable's."""
    return levels_on(ws.levels(reservoir), variable, stored_curve(ws, reservoir))


def forecast_history(ws: Workspace, forecast: Forecast, days: int = 90) -> pd.Series:
    """Observed target around a forecast: `days` before the issue date plus what happened during its horizon."""
    start, end = history_span(forecast, days)
    raw = ws.readings(forecast.reservoir, [forecast.target], start=str(start.date()), end=str(end.date()))
    return history_window(raw[forecast.target], forecast, days)


def band_coverage(
    ws: Workspace, forecast: Forecast, loaded: LoadedModel | None = None, days: int = 90
) -> RecentCoverage | None:
    """How often the bands issued in the `days` up to a forecast's issue date held what happened (Forecast page)."""
    loaded = loaded or ws.load_version(forecast.reservoir, forecast.version)
    cfg = loaded.config
    clean = load_clean(ws, forecast.reservoir, [cfg.target, *cfg.features], cfg.clean)
    return recent_coverage(loaded, clean.values, pd.Timestamp(forecast.issued), days)


def add_sample(ws: Workspace, csv: Path | None = None) -> list[MergeResult]:
    """Load the seeded sample reservoir (readings and operating levels); optionally write it as CSV."""
    sample = make_sample()
    if csv is not None:
        sample.to_csv(Path(csv))
    results = ws.merge(
        {sample.name: sample.frame},
        {sample.name: dict(sample.units)},
        UploadInfo(filename="built-in sample", sha256=fingerprint(sample.frame)),
    )
    if not ws.levels(sample.name):
        ws.set_levels(sample.name, sample.levels)
    return results


__all__ = [
    "ImportOutcome",
    "ImportRefused",
    "TrainError",
    "TrainOutcome",
    "add_sample",
    "forecast_reservoir",
    "import_csv",
    "load_clean",
    "train_reservoir",
]


def alert_trigger(ws: Workspace, reservoir: str) -> float:
    """The reservoir's alert trigger probability (operator-editable; default 20 %)."""
    return float(ws.get_meta(reservoir, "alert_trigger", DEFAULT_TRIGGER))


def set_alert_trigger(ws: Workspace, reservoir: str, trigger: float) -> None:
    """Store the probability at which a level crossing raises an alert."""
    if not 0.01 <= trigger <= 0.99:
        raise StoreError("The alert trigger is a probability between 1 % and 99 % (e.g. 0.2 for 20 %).")
    ws.set_meta(ws.reservoir(reservoir).name, "alert_trigger", float(trigger))


def relative_variables(ws: Workspace, reservoir: str) -> set[str]:
    """Variables the operator declared relative (counted from a pool bottom): their levels may be negative."""
    return {v for v, d in out_of_range_decisions(ws, reservoir).items() if d == RELATIVE}


def update_levels(
    ws: Workspace,
    reservoir: str,
    new: Sequence[OperatingLevel] = (),
    remove: Sequence[str] = (),
) -> list[OperatingLevel]:
    """Add or replace levels by name and remove others; the whole set is checked before it is stored."""
    name = ws.reservoir(reservoir).name
    current = {lv.name.lower(): lv for lv in ws.levels(name)}
    for key in remove:
        if key.lower() not in current:
            raise LevelError(
                f"'{name}' has no level called '{key}'. Levels: {', '.join(lv.name for lv in current.values())}."
            )
        del current[key.lower()]
    info = ws.reservoir(name)
    curve = stored_curve(ws, name)
    for level in new:
        if (
            curve is not None
            and canonical_name(level.variable) not in info.variable_names
            and curve.other(level.variable)
        ):  # an elevation on a storage-only reservoir (or back): judged and converted through the curve
            current[level.name.lower()] = _curve_level(level, curve)
            continue
        var = info.variable(level.variable)
        stored = clean_record(ws, name, [var.name]).values[var.name].dropna()  # codes and impossible values masked
        if not stored.empty:
            lo, hi = float(stored.min()), float(stored.max())
            span = max(hi - lo, abs(hi) * 0.01, 1e-9)
            if not lo - 3 * span <= level.value <= hi + 3 * span:
                raise LevelError(
                    f"Level '{level.name}' = {entered(level.value)} is far outside the recorded {var.name} "
                    f"({number(lo)} to {number(hi, var.unit)}, cleaned: logger codes and impossible values "
                    f"masked). Is it in {var.unit or 'the same unit as the data'}?"
                )
        current[level.name.lower()] = replace(level, variable=var.name, unit=level.unit or var.unit)
    levels = sorted(current.values(), key=lambda lv: (lv.variable, lv.value))
    check_levels(levels)
    ws.set_levels(name, levels, relative_variables(ws, name))
    return levels


def _curve_level(level: OperatingLevel, curve: Curve) -> OperatingLevel:
    """A level set on the curve's variable that the reservoir does not record, checked against the curve's span."""
    variable = canonical_name(level.variable)
    lo, hi = curve.span(variable)
    unit = curve.unit_of(variable)
    if not lo <= level.value <= hi:
        raise LevelError(
            f"Level '{level.name}' = {entered(level.value)} is outside the storage-elevation curve's {variable} "
            f"({number(lo)} to {number(hi, unit)}), so it cannot be converted. Is it in {unit or 'the curve unit'}?"
        )
    return replace(level, variable=variable, unit=level.unit or unit)


def _version_windows(ws: Workspace, reservoir: str, loaded: LoadedModel, start: str, end: str) -> tuple[Any, Any]:
    """Forecast windows issued between start and end (whole span inside [start - n_steps, end]) and their forecasts."""
    cfg, scaling = loaded.config, loaded.scaling
    clean = load_clean(ws, reservoir, [cfg.target, *cfg.features], cfg.clean).values
    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    labels = pd.Series("out", index=clean.index, dtype=object)
    labels[(clean.index > start_ts - pd.Timedelta(days=cfg.n_steps)) & (clean.index <= end_ts)] = "in"
    windows = make_windows(
        scaling.inputs(clean),
        clean[cfg.target].to_numpy(dtype=float),
        clean.index,
        labels.to_numpy(),
        "in",
        cfg.n_steps,
        cfg.horizon,
        scaling.delta_scale,
    )
    if len(windows) == 0:
        raise StoreError(f"Version {loaded.version} has no complete forecast window between {start} and {end}.")
    return windows, windows.to_values(loaded.model.predict(windows.X), scaling.delta_scale)


def score_version(
    ws: Workspace, reservoir: str, version: int, start: str, end: str, loaded: LoadedModel | None = None
) -> dict[str, Any]:
    """Metrics of a stored version on forecasts issued between start and end (the champion-vs-challenger window)."""
    loaded = loaded or ws.load_version(reservoir, version)
    windows, pred = _version_windows(ws, reservoir, loaded, start, end)
    result = compare(windows.truth, pred, windows.base)
    trained_until = pd.Timestamp(loaded.record.splits["val"][1])
    result["trained_on_window_days"] = max(0, (min(trained_until, pd.Timestamp(end)) - pd.Timestamp(start)).days + 1)
    return result


def verify_alerts(
    ws: Workspace,
    reservoir: str,
    version: int | None = None,
    trigger: float | None = None,
    levels: list[OperatingLevel] | None = None,
    loaded: LoadedModel | None = None,
) -> dict[str, Any]:
    """Hits, misses and false alarms of the alert rule per level over the version's test period."""
    name = ws.reservoir(reservoir).name
    loaded = loaded or ws.load_version(name, version)
    trigger = alert_trigger(ws, name) if trigger is None else trigger
    calibration = loaded.calibration
    if calibration is None:
        raise StoreError(f"Version {loaded.version} has no calibrated bands; retrain to verify alerts.")
    start, end = loaded.record.splits["test"]
    windows, pred = _version_windows(ws, name, loaded, start, end)
    change = recent_change(windows.X, loaded.scaling.delta_scale, loaded.scaling.change_column)
    history = _residual_history(ws, name, loaded)
    target = loaded.config.target
    mine = risk.applicable(forecast_levels(ws, name, target) if levels is None else levels, target)
    prob = np.zeros((len(mine), len(windows)))
    for i, day in enumerate(windows.issued):  # each window's ensemble as calibrated on its own issue day
        samples = calibration.at(history, day).samples(pred[i : i + 1], change[i : i + 1])
        for k, lv in enumerate(mine):
            prob[k, i] = risk.beyond(samples, lv).any(axis=-1).mean(axis=-1)[0]
    rows = []
    for k, lv in enumerate(mine):
        prob_any = prob[k]
        crossed = risk.beyond(windows.truth, lv).any(axis=-1)
        rows.append(
            {
                "level": lv.name,
                "value": lv.value,
                "side": lv.side,
                "severity": lv.severity,
                **risk.verify(prob_any, crossed, trigger),
            }
        )
    return {"version": loaded.version, "period": [start, end], "trigger": trigger, "levels": rows}


def _residual_history(ws: Workspace, reservoir: str, loaded: LoadedModel) -> ResidualHistory | None:
    """Residuals of the version's forecasts from validation start to the last reading (None for static bands)."""
    calib, cfg = loaded.calibration, loaded.config
    if calib is None or calib.adaptive is None:
        return None
    clean = load_clean(ws, reservoir, [cfg.target, *cfg.features], cfg.clean).values
    return version_forecasts(loaded, clean, clean.index[0], clean.index[-1]).residuals(calib)


def hindcast(
    ws: Workspace,
    reservoir: str,
    start: str,
    end: str,
    version: int | None = None,
    trigger: float | None = None,
    lookback_days: int = 400,
    loaded: LoadedModel | None = None,
) -> list[Forecast]:
    """The forecast the model would have issued on every day from start to end, using only data up to that day.

    Each issue day's inputs are cleaned from the readings up to that day (a `lookback_days` tail), so no
    future reading reaches a hindcast through gap filling or spike detection.
    """
    name = ws.reservoir(reservoir).name
    loaded = loaded or ws.load_version(name, version)
    cfg = loaded.config
    try:
        days = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D")
    except (ValueError, TypeError) as exc:
        raise StoreError(f"--from/--to must be dates (YYYY-MM-DD): {exc}") from exc
    if len(days) == 0:
        raise StoreError("--from must not be after --to.")
    if len(days) > 3700:
        raise StoreError("A hindcast covers at most about 10 years (3,700 issue days); shorten the range.")
    raw, _ = plausible_readings(ws.readings(name, [cfg.target, *cfg.features]))
    decisions = out_of_range_decisions(ws, name)
    elsewhere = coded_days(ws, name, list(raw.columns))  # codes in other variables mask companions here too
    units = stored_units(ws, name)
    truth = raw[cfg.target]
    unit = ws.reservoir(name).variable(cfg.target).unit
    levels = forecast_levels(ws, name, cfg.target)
    curve = stored_curve(ws, name)
    trigger = alert_trigger(ws, name) if trigger is None else trigger
    if loaded.calibration is not None and loaded.calibration.adaptive is not None:  # room for the residual history
        lookback_days = max(lookback_days, loaded.calibration.adaptive.window_days + cfg.horizon + cfg.n_steps + 1)
    out = []
    for day in days:
        past = raw.loc[day - pd.Timedelta(days=lookback_days) : day]
        if past.empty or past.index[-1] != day:
            continue
        try:
            clean = clean_daily(past, cfg.clean, decisions, elsewhere, units)
            fc = issue(loaded, clean.values, as_of=day, unit=unit)
        except ForecastError:
            continue  # no complete input window that day (a gap): nothing would have been issued
        observed = truth.reindex(pd.to_datetime([p.date for p in fc.points]))
        points = tuple(
            replace(p, observed=None if pd.isna(o) else float(o)) for p, o in zip(fc.points, observed, strict=True)
        )
        out.append(attach(risk.assess(replace(fc, points=points), levels, trigger), curve))
    return out


def retrain_reservoir(
    ws: Workspace,
    reservoir: str,
    *,
    on_epoch: EpochHook | None = None,
    should_stop: StopHook | None = None,
    activate: bool | None = False,
) -> tuple[TrainOutcome, dict[str, Any]]:
    """Train the active version's settings on all current data; score old and new on the new test window.

    The new version is not activated unless asked (activate=None applies the validation rule): the
    operator decides after seeing champion vs challenger.
    """
    name = ws.reservoir(reservoir).name
    champion = ws.version(name)
    config = TrainConfig.from_dict(champion.config)
    if config.split.test_from:  # a fixed test start would leave the new days out of testing: use the fractions
        config = TrainConfig.from_dict({**config.to_dict(), "split": SplitConfig().to_dict()})
    outcome = train_reservoir(ws, name, config, activate=activate, on_epoch=on_epoch, should_stop=should_stop)
    start, end = outcome.result.bounds.to_dict()["test"]
    old = score_version(ws, name, champion.version, start, end)
    new = outcome.result.metrics
    better = "challenger" if new["model"]["mae"] < old["model"]["mae"] else "champion"
    winner, loser = (new, old) if better == "challenger" else (old, new)
    difference = judge(loser["model"]["mae"], winner["model"]["mae"])  # beyond noise? (the leaderboard's rule)
    comparison = {
        "window": [start, end],
        "champion": {"version": champion.version, **_brief(old)},
        "challenger": {"version": outcome.record.version, **_brief(new)},
        "champion_trained_on_window_days": old["trained_on_window_days"],
        "better": better,
        "meaningful": difference.meaningful,  # False: the smaller MAE is within noise, no reason to switch
        "difference": difference.words(),
    }
    return outcome, comparison


def _brief(metrics: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers of a comparison side."""
    return {
        "mae": metrics["model"]["mae"],
        "rmse": metrics["model"]["rmse"],
        "nse": metrics["model"]["nse"],
        "kge": metrics["model"]["kge"],
        "skill_vs_persistence": metrics["skill_vs_persistence"],
        "n_windows": metrics["n_windows"],
    }
