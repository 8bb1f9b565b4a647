"""`--what-if` on `forecast` and `hindcast`: parse release plans, run the scenarios, print them.

Kept apart from core.cli.main (near its size limit): cli.py adds the option with `add_what_if_option` and
calls `forecast_what_if` / `hindcast_what_if` and `what_if_lines`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from core.app.whatif import what_if, what_if_hindcast
from core.data.variables import canonical_name
from core.display import number
from core.forecast.scenario import ScenarioError, plan

if TYPE_CHECKING:  # the scenario module pulls in pandas/numpy; `python -m core --help` stays light
    from core.forecast.scenario import ReleasePlan, WhatIf

WHAT_IF_HELP = (
    "a release scenario: 'outflow=V' (V every forecast day), 'outflow=V1,...,V7' (one per day) or "
    "'outflow=recorded' (the releases actually made; past issue dates only), in the outflow's stored unit; "
    "repeat for several scenarios side by side"
)


class WhatIfError(ValueError):
    """A --what-if value that cannot be read; the message names the problem and the accepted forms."""


def add_what_if_option(parser: argparse.ArgumentParser) -> None:
    """The repeatable --what-if option of `forecast` and `hindcast`."""
    parser.add_argument(
        "--what-if", dest="what_if", action="append", metavar="outflow=V[,V2,...]|recorded", help=WHAT_IF_HELP
    )


def parse_what_if(text: str) -> ReleasePlan:
    """One --what-if value as a checked plan (count against the model's horizon is checked when it runs)."""
    if "=" not in text:
        raise WhatIfError(f"--what-if '{text}' needs the form outflow=VALUE (e.g. outflow=1200 or outflow=recorded).")
    variable, _, value = (part.strip() for part in text.partition("="))
    if canonical_name(variable) != "outflow":
        raise WhatIfError(
            f"--what-if '{text}': only the release can be planned ('{variable}' is not the outflow); use outflow=VALUE."
        )
    if value.lower() == "recorded":
        return plan("outflow=recorded", None)
    parts = [p.strip() for p in value.split(",")]
    try:
        rates = [float(p) for p in parts]
    except ValueError:
        bad = next(p for p in parts if not _is_number(p))
        raise WhatIfError(
            f"--what-if '{text}': '{bad}' is not a release rate; give numbers (outflow=1200 or "
            "outflow=1200,1300,...) or outflow=recorded."
        ) from None
    name = f"outflow={value}"
    try:
        return plan(name, rates)
    except ScenarioError as exc:
        raise WhatIfError(f"--what-if '{text}': {str(exc).split(': ', 1)[-1]}") from None


def _is_number(text: str) -> bool:
    """True when float() reads the text."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def plans_of(args: argparse.Namespace) -> list[ReleasePlan]:
    """Every --what-if given (empty when none), parsed before any model loads so typos fail fast."""
    return [parse_what_if(t) for t in getattr(args, "what_if", None) or []]


def forecast_what_if(args: argparse.Namespace, ws: Any, forecast: Any) -> WhatIf | None:
    """The scenarios of `forecast --what-if` on the forecast just issued (None without --what-if)."""
    plans = plans_of(args)
    if not plans:
        return None

    return what_if(ws, forecast.reservoir, plans, version=forecast.version, plain=forecast)


def hindcast_what_if(args: argparse.Namespace, ws: Any) -> list[WhatIf]:
    """The scenarios of `hindcast --what-if` on every issue day (readings up to each day only)."""
    return what_if_hindcast(ws, args.reservoir, args.date_from, args.date_to, plans_of(args), version=args.version)


def what_if_lines(result: WhatIf | None, balance: bool = True) -> list[str]:
    """The scenario table under the forecast: per scenario the last-day median and band, alert per side."""
    if result is None:
        return []
    unit = f" {result.unit}" if result.unit else ""
    out = [f"  what if (release scenarios, {result.target}{unit}):"]
    if balance:
        out.append(f"    {result.words()}")
    for row in result.table():
        band = row["day 80 % band"]
        band_text = f"80 % {number(band[0])} - {number(band[1])}" if band else "no bands"
        median = next(v for k, v in row.items() if k.endswith("median"))
        out.append(
            f"    {row['scenario']}: {row['release']}; day {len(result.plain.points)} {number(median)} ({band_text}); "
            f"{row['flood alert']}, {row['drought alert']}"
        )
    return out


def cmd_hindcast_what_if(args: argparse.Namespace, emit: Any, workspace: Any) -> int:
    """`hindcast --what-if`: scenarios on each past day, each with the plain forecast it starts from."""
    results = hindcast_what_if(args, workspace(args))
    data = {"reservoir": args.reservoir, "hindcasts": [{**w.plain.to_dict(), "what_if": w.to_dict()} for w in results]}

    def lines() -> list[str]:
        out = [f"{len(results)} hindcasts with scenarios issued {args.date_from} to {args.date_to}"]
        if results:
            out.append(f"  {results[0].words()}")
        return out + [line for w in results for line in [f"  {w.issued}:", *what_if_lines(w, balance=False)]]

    emit(args, data, lines)
    return 0
