"""The fleet model's settings: one frozen dataclass saved as JSON next to the .keras, so a version can be rebuilt."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from core.data.config import CleanConfig
from core.model.config import SplitConfig, TrainError, known_settings

# The members of the fleet ensemble, as in the default (core/model/zoo/conv_lstm_ensemble.py): (kind, the
# target's change normalised per window). kind "conv_lstm" is LSTM(CNN(x)) and must stay in the graph.
FLEET_MEMBERS: tuple[tuple[str, bool], ...] = (("conv_lstm", False), ("conv1d", True), ("lstm", False), ("mlp", False))
MEMBER_KINDS = ("conv_lstm", "conv1d", "lstm", "mlp")
BALANCE = ("windows", "reservoirs", "none")
# The names a fleet version's reservoirs record as their model (config.model.name), and how pages say them.
FLEET_MODEL, TUNED_MODEL = "fleet", "fleet_tuned"
MODEL_LABELS = {FLEET_MODEL: "Fleet model (all reservoirs)", TUNED_MODEL: "Fleet + fine-tune"}


@dataclass(frozen=True)
class FineTuneSettings:
    """How one reservoir's copy of the fleet weights is adapted to its own record."""

    epochs: int = 20
    patience: int = 5
    learning_rate: float = 1e-3
    batch_size: int = 128

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FineTuneSettings:
        """Rebuild from saved JSON; unknown keys are an error."""
        return cls(**known_settings(cls, data, "fine-tune"))


@dataclass(frozen=True)
class FleetConfig:
    """Every setting that decides the fleet model's numbers; saved with it (fleet.json)."""

    target: str = "storage"
    covariates: tuple[str, ...] = ()  # the fleet's input columns besides the target: the union over its reservoirs
    n_steps: int = 14
    horizon: int = 7
    seasonal: bool = True
    members: tuple[tuple[str, bool], ...] = FLEET_MEMBERS
    filters: int = 32
    kernel_size: int = 3
    units: int = 32
    dropout: float = 0.1
    descriptors: bool = True  # condition every member on the reservoir's static descriptors + presence masks
    # Share of training windows whose descriptors are replaced by the fleet's mean (0): the net also learns to
    # forecast a reservoir it knows nothing of, the mode a cold start is served in (embedding dropout's idea).
    descriptor_dropout: float = 0.5
    # Loss weight of a reservoir's windows: "windows" 1 / its persistence MAE (the loss is then a mean of 1 - skill
    # over windows), "reservoirs" that / its window count too (every reservoir counts the same), "none" 1.
    balance: str = "windows"
    epochs: int = 60
    patience: int = 6
    batch_size: int = 256
    # An epoch is every training window once, or at most this many batches (0: no cap): a large fleet validates
    # (and may stop early) every 128 x 256 windows instead of only after a pass over all of them.
    steps_per_epoch: int = 128
    learning_rate: float = 1e-3
    # > 1: every training window's change and covariates are multiplied by log-uniform factors in [1/x, x], so the
    # fleet does not lean on each reservoir's exact scaling (a cold start's comes from a few months of record)
    scale_jitter: float = 3.0
    seed: int = 42
    min_history_days: int = 30  # the shortest record a cold-start reservoir may be forecast from
    fine_tune: FineTuneSettings = field(default_factory=FineTuneSettings)
    split: SplitConfig = field(default_factory=SplitConfig)
    clean: CleanConfig = field(default_factory=CleanConfig)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (nested settings as dicts, tuples as lists)."""
        data = asdict(self)
        data["covariates"] = list(self.covariates)
        data["members"] = [[kind, bool(norm)] for kind, norm in self.members]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FleetConfig:
        """Rebuild a saved config; unknown keys are an error so typos don't pass silently."""
        data = known_settings(cls, data, "fleet")
        data["covariates"] = tuple(data.get("covariates", ()))
        data["members"] = tuple((str(k), bool(n)) for k, n in data.get("members", FLEET_MEMBERS))
        data["fine_tune"] = FineTuneSettings.from_dict(data.get("fine_tune", {}))
        data["split"] = SplitConfig.from_dict(data.get("split", {}))
        data["clean"] = CleanConfig.from_dict(data.get("clean", {}))
        return cls(**data)

    def checked(self) -> FleetConfig:
        """Return self, or raise TrainError naming the setting that is out of range."""
        kinds = [kind for kind, _ in self.members]
        rules = [
            (1 <= self.n_steps <= 365, "n_steps (days of history) must be between 1 and 365"),
            (1 <= self.horizon <= 60, "horizon (days ahead) must be between 1 and 60"),
            (set(kinds) <= set(MEMBER_KINDS), f"members must be among {', '.join(MEMBER_KINDS)}"),
            ("conv_lstm" in kinds, "the fleet ensemble must keep its Conv1D+LSTM member (LSTM(CNN(x)))"),
            (0 < self.learning_rate <= 0.1, "learning rate must be above 0 and at most 0.1"),
            (0 < self.fine_tune.learning_rate <= 0.1, "fine-tune learning rate must be above 0 and at most 0.1"),
            (1 <= self.epochs <= 5000 and self.fine_tune.epochs >= 1, "epochs must be between 1 and 5000"),
            (self.patience >= 1 and self.fine_tune.patience >= 1, "patience must be at least 1"),
            (self.balance in BALANCE, f"balance must be one of {', '.join(BALANCE)}"),
            (0 <= self.descriptor_dropout < 1, "descriptor dropout must be at least 0 and below 1"),
            (self.scale_jitter >= 1, "scale jitter must be 1 (off) or more"),
            (self.steps_per_epoch >= 0, "steps per epoch must be 0 (all windows) or more"),
            (self.min_history_days >= self.n_steps + self.horizon, "min_history_days must cover one window"),
            (self.target not in self.covariates, f"'{self.target}' is the target; do not list it as a covariate"),
        ]
        for ok, message in rules:
            if not ok:
                raise TrainError(message)
        return self

    def with_fine_tune(self, **changes: Any) -> FleetConfig:
        """The same settings with some fine-tune settings replaced."""
        return replace(self, fine_tune=replace(self.fine_tune, **changes))

    def with_covariates(self, covariates: tuple[str, ...]) -> FleetConfig:
        """The same settings with the fleet's input layout fixed (sorted, so the order never depends on input order)."""
        return replace(self, covariates=tuple(sorted(set(covariates))))
