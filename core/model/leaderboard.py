"""The leaderboard's rules: which members take part, how they are ranked, when a difference is real, and the
verdict in words.

Pure functions over leaderboard rows and stored metrics; training the members and storing them is core.app.compare.

Skill is shown on two errors side by side: MAE (the average miss) and RMSE (large misses weigh more), each
against 'tomorrow = today' on the same test days; a model that wins on MAE but not on RMSE is said to be no better
when large misses matter. A challenger is recommended over an incumbent only beyond noise, by a stated rule
(`judge`): its validation MAE is at least MIN_MARGIN smaller and, when both were scored on the same validation
days, a one-sided Diebold-Mariano test on their per-forecast absolute errors (Newey-West variance over the
horizon's overlap, Harvey-Leybourne-Newbold small-sample correction) gives p < ALPHA; scored on different days,
only a margin of at least UNPAIRED_MARGIN counts. Otherwise the words are "no meaningful difference".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.display import number, percent
from core.jsonio import number as as_number
from core.model.zoo import MODEL_NAMES, check_name

MIN_MARGIN = 0.02  # below a 2 % smaller validation MAE no difference is worth switching models for
UNPAIRED_MARGIN = 0.05  # scored on different validation days (no paired test): at least 5 % smaller
ALPHA = 0.05  # the Diebold-Mariano test's level (one-sided: the challenger is better)


def parse_models(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """The requested members in zoo order (None/empty = the whole zoo); unknown names are an error."""
    if not text:
        return MODEL_NAMES
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    for name in names:
        check_name(name)
    return tuple(n for n in MODEL_NAMES if n in set(names))


def rank(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows best first by validation MAE (the test period never takes part), each given its rank."""
    rows = sorted(rows, key=lambda r: (not np.isfinite(r["val_mae"]), r["val_mae"]))
    for position, row in enumerate(rows, 1):
        row["rank"] = position
    return rows


# ----------------------------------------------------------------------------- skill on MAE and RMSE


def _ratio_skill(model: Any, reference: Any) -> float | None:
    """1 - model / reference, or None when either is missing or the reference is 0."""
    m, r = as_number(model), as_number(reference)
    if m is None or r is None or r == 0:
        return None
    return 1 - m / r


@dataclass(frozen=True)
class Skill:
    """A version's skill against 'tomorrow = today' on its test days: on MAE and on RMSE (fractions, None when
    not measured). RMSE weighs large misses more, so a model can beat persistence on average and not on them."""

    mae: float | None
    rmse: float | None

    @classmethod
    def of(cls, metrics: Mapping[str, Any] | None) -> Skill:
        """From a version's stored test metrics (model/persistence scores and skill_vs_persistence)."""
        metrics = metrics or {}
        model, reference = metrics.get("model") or {}, metrics.get("persistence") or {}
        mae = as_number(metrics.get("skill_vs_persistence"))
        if mae is None:
            mae = _ratio_skill(model.get("mae"), reference.get("mae"))
        return cls(mae, _ratio_skill(model.get("rmse"), reference.get("rmse")))

    @property
    def large_misses_worse(self) -> bool:
        """Better on average but not on large misses: MAE skill above 0, RMSE skill at or below 0."""
        return self.mae is not None and self.mae > 0 and self.rmse is not None and self.rmse <= 0

    def short(self) -> str:
        """A few characters for a metric or a picker: 'skill +26% MAE, -1% RMSE'."""
        if self.mae is None:
            return "skill not measured"
        rmse = f", {percent(self.rmse, signed=True)} RMSE" if self.rmse is not None else ""
        return f"skill {percent(self.mae, signed=True)} MAE{rmse}"

    def colour(self) -> str:
        """Metric delta colour: green better on both, orange better on average only, red not better, gray unknown."""
        if self.mae is None:
            return "gray"
        if self.mae <= 0:
            return "red"
        return "orange" if self.large_misses_worse else "green"

    def words(self) -> str:
        """For a card: "beats 'tomorrow = today' by 26% on average, but not on large misses (RMSE 1% larger...)"."""
        if self.mae is None:
            return "not scored against 'tomorrow = today' yet"
        if self.mae <= 0:
            return "does not beat persistence yet: forecasts are shown with a warning"
        by = f"{round(self.mae * 100)}%" if round(self.mae * 100) >= 1 else "less than 1%"
        text = f"beats 'tomorrow = today' by {by}"
        if self.large_misses_worse:
            return f"{text} on average, but not on large misses (RMSE {_how(self.rmse)})"
        return text

    def sentence(self) -> str:
        """A full sentence an operator can repeat: both errors against 'tomorrow = today', in words."""
        if self.mae is None:
            return "Its skill against 'tomorrow = today' could not be measured on its test period."
        text = f"On its test period its average error (MAE) was {_how(self.mae)} simply assuming 'tomorrow = today'"
        if self.rmse is None:
            return text + " (persistence)."
        text += f"; its root-mean-square error (RMSE), which weighs large misses more, was {_how(self.rmse)}."
        if self.large_misses_worse:
            text += " It is not better when large misses matter: on the days that move most, trust its bands more."
        return text


def _how(skill: float | None) -> str:
    """'26 % smaller than', '1 % larger than', 'the same as' for a skill fraction."""
    if skill is None:
        return "not measured against"
    size = f"{abs(skill):.0%}" if round(abs(skill) * 100) >= 1 else "less than 1%"
    if skill > 0:
        return f"{size} smaller than"
    if skill < 0:
        return f"{size} larger than"
    return "the same as"


# ----------------------------------------------------------------------------- beyond noise


def dm_test(incumbent: Sequence[float], challenger: Sequence[float], horizon: int) -> tuple[float, float] | None:
    """Diebold-Mariano on two per-forecast loss series of the same days: (statistic, one-sided p that the
    challenger's loss is smaller). Newey-West variance with horizon - 1 lags (consecutive forecasts overlap),
    the Harvey-Leybourne-Newbold correction, normal tail. None when the series differ in length or are too short."""
    a, b = np.asarray(incumbent, dtype=float), np.asarray(challenger, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        return None
    keep = np.isfinite(a) & np.isfinite(b)
    d = a[keep] - b[keep]  # positive where the challenger missed by less
    n, h = d.size, max(int(horizon), 1)
    if n < max(10, 2 * h):
        return None
    centred = d - d.mean()
    variance = float(centred @ centred) / n
    for k in range(1, h):
        variance += 2 * (1 - k / h) * float(centred[k:] @ centred[:-k]) / n
    if not variance > 0:
        return (0.0, 0.5) if d.mean() == 0 else (math.copysign(math.inf, d.mean()), 0.0 if d.mean() > 0 else 1.0)
    statistic = d.mean() / math.sqrt(variance / n)
    statistic *= math.sqrt(max(n + 1 - 2 * h + h * (h - 1) / n, 1.0) / n)
    return statistic, 0.5 * math.erfc(statistic / math.sqrt(2))


@dataclass(frozen=True)
class Challenge:
    """Whether a challenger's validation MAE beats an incumbent's beyond noise, and the rule's figures."""

    incumbent_mae: float
    challenger_mae: float
    margin: float  # relative: 1 - challenger / incumbent (0.05 = 5 % smaller)
    p_value: float | None  # one-sided Diebold-Mariano; None when not scored on the same days
    meaningful: bool

    def words(self, unit: str | None = None) -> str:
        """'a meaningful difference: MAE 50.1 vs 55.1 m (9 % smaller, p = 0.003)' or 'no meaningful difference'."""
        figures = f"validation MAE {number(self.challenger_mae)} vs {number(self.incumbent_mae, unit)}"
        how = f"{abs(self.margin):.1%} {'smaller' if self.margin >= 0 else 'larger'}"
        if self.p_value is None:
            test = ", not on the same days"
        else:
            test = ", Diebold-Mariano " + ("p < 0.01" if self.p_value < 0.01 else f"p = {self.p_value:.2f}")
        head = "a meaningful difference" if self.meaningful else "no meaningful difference"
        return f"{head} ({figures}: {how}{test})"


def judge(
    incumbent_mae: float,
    challenger_mae: float,
    incumbent_errors: Sequence[float] | None = None,
    challenger_errors: Sequence[float] | None = None,
    horizon: int = 1,
) -> Challenge:
    """The module's rule: meaningful when the challenger's validation MAE is at least MIN_MARGIN smaller and the
    paired Diebold-Mariano test gives p < ALPHA (same validation days), or at least UNPAIRED_MARGIN smaller
    (different days, no paired test)."""
    margin = 1 - challenger_mae / incumbent_mae if incumbent_mae else 0.0
    tested = None
    if incumbent_errors is not None and challenger_errors is not None:
        tested = dm_test(incumbent_errors, challenger_errors, horizon)
    if tested is not None:
        p_value = tested[1]
        meaningful = margin >= MIN_MARGIN and p_value < ALPHA
    else:
        p_value = None
        meaningful = margin >= UNPAIRED_MARGIN
    return Challenge(float(incumbent_mae), float(challenger_mae), float(margin), p_value, bool(meaningful))


def judge_rows(incumbent: Mapping[str, Any], challenger: Mapping[str, Any]) -> Challenge:
    """`judge` on two leaderboard rows (paired when both carry validation errors of the same days)."""
    horizon = len((challenger.get("metrics") or {}).get("skill_by_horizon") or []) or 1
    return judge(
        float(incumbent["val_mae"]),
        float(challenger["val_mae"]),
        incumbent.get("val_errors") or None,
        challenger.get("val_errors") or None,
        horizon,
    )


# ----------------------------------------------------------------------------- the verdict


NO_MODEL_BEATS = (
    "No model beats persistence ('tomorrow = today') on the validation period: the level here is driven "
    "by something the readings do not show (operating decisions, gate changes). Use persistence with its "
    "bands, and treat any model's forecast as no better than today's reading."
)


def verdict(rows: list[dict[str, Any]], unit: str | None = None) -> str:
    """The leaderboard in a few sentences an operator can act on: the best on validation and its test skill on
    MAE and RMSE side by side, whether it beats the runner-up beyond noise, and who is best on large misses."""
    best = rows[0]
    learned = [r for r in rows if r["model"] != "persistence"]
    if not [r for r in learned if (r["val_skill"] or 0) > 0]:
        return NO_MODEL_BEATS
    skill = Skill.of(best["metrics"])
    parts = [
        f"{best['label']} is best on the validation period (MAE {number(best['val_mae'], unit)}, skill "
        f"{percent(best['val_skill'], signed=True)} vs persistence). On the held-out test period: "
        f"{skill.short().removeprefix('skill ')} against 'tomorrow = today'"
        + (" - better on average, not on large misses." if skill.large_misses_worse else ".")
    ]
    if len(rows) > 1:
        runner = rows[1]
        challenge = judge_rows(runner, best)
        tail = "" if challenge.meaningful else "; either will do"
        parts.append(f"Against the runner-up, {runner['label']}: {challenge.words(unit)}{tail}.")
    by_rmse = min(rows, key=lambda r: _rmse(r))
    if by_rmse is not best and math.isfinite(_rmse(by_rmse)):
        parts.append(
            f"On test RMSE, where large misses weigh more, {by_rmse['label']} is best "
            f"({number(_rmse(by_rmse))} against {number(_rmse(best), unit)})."
        )
    return " ".join(parts)


def _rmse(row: Mapping[str, Any]) -> float:
    """A row's test RMSE (inf when missing, so it never wins)."""
    value = as_number(((row.get("metrics") or {}).get("model") or {}).get("rmse"))
    return math.inf if value is None else value
