"""The settings that decide a model's numbers: small frozen dataclasses saved as JSON with every version."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from core.data.config import CleanConfig

# The default is the zoo member with the best mean skill vs persistence on both groups of shared reservoirs
# (bench/RESULTS.md, 2026-12-01): the Conv1D+LSTM ensemble (the median of a Conv1D+LSTM, a normalised
# Conv1D, an LSTM and a dense net) beat every single net, each of which wins one group and loses the other.
DEFAULT_MODEL = "conv_lstm_ensemble"
LEARNING_RATE = 3e-4  # the method's Adam learning rate: every member's default unless it declares its own


class TrainError(ValueError):
    """Training cannot start or finish with these data/settings; the message says what to change."""


def known_settings(cls: type, data: dict[str, Any], what: str, error: type[ValueError] = TrainError) -> dict[str, Any]:
    """A copy of saved settings, or `error` naming the keys cls does not have (a typo never passes silently)."""
    unknown = set(data) - set(cls.__dataclass_fields__)
    if unknown:
        raise error(f"Unknown {what} setting(s): {', '.join(sorted(unknown))}")
    return dict(data)


@dataclass(frozen=True)
class SplitConfig:
    """How the calendar is cut: fractions, or a test start date with validation just before it."""

    val_fraction: float = 0.15
    test_fraction: float = 0.15
    test_from: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, saved with every model."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SplitConfig:
        """Rebuild from a saved model's config."""
        return cls(**{k: data[k] for k in ("val_fraction", "test_fraction", "test_from") if k in data})


@dataclass(frozen=True)
class ModelConfig:
    """Architecture knobs, saved with the model so a version can be rebuilt and explained."""

    name: str = DEFAULT_MODEL
    filters: int = 32
    kernel_size: int = 3
    units: int = 32
    dropout: float = 0.1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Rebuild from saved JSON, ignoring nothing silently: unknown keys are an error."""
        return cls(**known_settings(cls, data, "model", ValueError))


@dataclass(frozen=True)
class FitSettings:
    """What a zoo member's fit needs to know, and nothing else (the data arrive as windows)."""

    epochs: int = 200
    batch_size: int = 64
    learning_rate: float = LEARNING_RATE
    patience: int = 10
    seed: int = 42
    seasonal: bool = True  # the windows carry day-of-year inputs (climatology needs them)


@dataclass(frozen=True)
class TrainConfig:
    """Every setting that decides a model's numbers; saved with the model for reproducibility."""

    target: str
    features: tuple[str, ...] = ()
    n_steps: int = 14
    horizon: int = 7
    learning_rate: float | None = None  # None: the model's own (zoo Member.learning_rate), resolved when trained
    epochs: int = 200
    batch_size: int = 64
    patience: int = 10
    seed: int = 42
    seasonal: bool = True
    # Feed the target's absolute value too? Off by default: with it the nets learn "at this level in this
    # season the pool is drawn down" and fail when operations change (Minidoka, Milner in bench/RESULTS.md);
    # daily changes + covariates + season transfer across regimes.
    level_input: bool = False
    interval_method: str = "scaled"
    model: ModelConfig = field(default_factory=ModelConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    clean: CleanConfig = field(default_factory=CleanConfig)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (nested configs as dicts)."""
        data = asdict(self)
        data["features"] = list(self.features)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild a saved config; unknown keys are an error so typos don't pass silently."""
        data = known_settings(cls, data, "training")
        data["features"] = tuple(data.get("features", ()))
        data["model"] = ModelConfig.from_dict(data.get("model", {}))
        data["split"] = SplitConfig.from_dict(data.get("split", {}))
        data["clean"] = CleanConfig.from_dict(data.get("clean", {}))
        return cls(**data)

    def checked(self) -> TrainConfig:
        """Return self, or raise TrainError naming the setting that is out of range."""
        rules = [
            (1 <= self.n_steps <= 365, "n_steps (days of history) must be between 1 and 365"),
            (1 <= self.horizon <= 60, "horizon (days ahead) must be between 1 and 60"),
            (
                self.learning_rate is None or 0 < self.learning_rate <= 0.1,
                "learning rate must be above 0 and at most 0.1",
            ),
            (1 <= self.epochs <= 5000, "epochs must be between 1 and 5000"),
            (1 <= self.batch_size <= 4096, "batch size must be between 1 and 4096"),
            (self.patience >= 1, "patience must be at least 1"),
            (self.target not in self.features, f"'{self.target}' is the target; do not list it as a feature too"),
            (self.interval_method in ("scaled", "absolute"), "interval method must be 'scaled' or 'absolute'"),
        ]
        for ok, message in rules:
            if not ok:
                raise TrainError(message)
        return self

    def with_model_defaults(self, learning_rate: float) -> TrainConfig:
        """The settings a version is trained and saved with: a rate left to the model becomes the model's own."""
        return self if self.learning_rate is not None else replace(self, learning_rate=learning_rate)

    def fit_settings(self) -> FitSettings:
        """The slice of these settings a zoo member's fit uses (FitSettings' fields share these names)."""
        values = {name: getattr(self, name) for name in FitSettings.__dataclass_fields__}
        return FitSettings(**{**values, "learning_rate": self.learning_rate or LEARNING_RATE})


def with_overrides(config: TrainConfig, **changes: Any) -> TrainConfig:
    """A copy of config with some settings replaced (None values are ignored)."""
    return replace(config, **{k: v for k, v in changes.items() if v is not None})
