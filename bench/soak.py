"""Soak test of the morning run: 30 simulated mornings over 10 reservoirs with faults injected at random
(python -m bench.soak). Not in the suite: it takes minutes and prints a table.

Each morning one new day of readings per reservoir arrives in the inbox, then the daily cycle runs (local engine,
two workers, ridge models so each task takes seconds; the retrain rule at 10 days, so every reservoir is retrained
during the soak). Faults, each drawn independently per morning (seeded):

* a mis-dated row: one reservoir's file also carries a reading dated 2099-06-01; if the import merges it (instead
  of holding it out) the soak's operator masks it after the cycle, as an operator would (an undoable revision);
* a dead webhook: the "flaky" receiver's port is closed for the morning;
* a slow webhook: the flaky receiver answers one byte a second (attempts are bounded at 2 s, the phase at 6 s);
* a killed worker: one reservoir's worker is killed after its work (the crash drill), so it is retried;
* a restore attempt during a training: a training of one reservoir starts, and `restore --force` of the morning-0
  backup is attempted while it holds the reservoir (it must be refused; if it went ahead, data would be lost).

After each morning it checks that nothing was lost (every version row's model file exists and matches its checksum,
versions and raw readings never decrease, no run row is left running) and counts leftovers on disk (temp folders
of saves, restores and runs, in-use notes). After the last morning the flaky receiver is healthy and the waiting
deliveries are sent; every delivered message must have reached its receiver exactly once.

`--write` puts the tables into bench/RESULTS.md ("Soak test").
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd

from bench.fleet import PeakSampler
from core import notify
from core.app import pipeline
from core.data.levels import OperatingLevel
from core.data.sample import COLUMNS, SampleConfig, make_sample
from core.digest import sha256_file
from core.fleet.cycle import CycleOptions, run_cycle
from core.fleet.due import DueRule
from core.fleet.engines import EngineSettings
from core.fleet.tasks import CrashDrill
from core.model.config import ModelConfig, TrainConfig
from core.store.backup import backup, restore
from core.store.workspace import StoreError, Workspace

RESULTS = Path(__file__).with_name("RESULTS.md")
SECTION = "Soak test"
RIDGE = TrainConfig(target="level", features=("rainfall", "inflow"), model=ModelConfig(name="ridge"))
MISDATED = "2099-06-01"
FAULTS = ("misdated", "dead_hook", "slow_hook", "killed_worker", "restore_in_training")


# ---------------------------------------------------------------- the webhook receivers


class Hook:
    """A webhook receiver on a fixed local port: 'ok' records each POST and answers 200, 'slow' answers one byte a
    second (and records nothing: no answer in time), 'dead' has its port closed."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.mode = "ok"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.server: ThreadingHTTPServer | None = None
        self.open()

    def open(self) -> None:
        """Listen (again) on the port."""
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if hook.mode == "slow":
                    with contextlib.suppress(OSError):  # the sender gave up (its attempt is bounded) and hung up
                        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
                            time.sleep(1.0)
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                    return
                hook.bodies.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                """Quiet."""

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def set(self, mode: str) -> None:
        """'ok', 'slow' or 'dead' for the next morning."""
        if mode == "dead" and self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        elif mode != "dead" and self.server is None:
            self.open()
        self.mode = mode


# ---------------------------------------------------------------- the fleet


@dataclass
class Fleet:
    """The soak's workspace, its reservoirs' full frames, the receivers and the morning-0 backup."""

    ws: Workspace
    frames: dict[str, pd.DataFrame]
    first_day: pd.Timestamp
    inbox: Path
    steady: Hook
    flaky: Hook
    backup: Path


def _csv(frame: pd.DataFrame) -> str:
    """A reservoir file as an operator drops it."""
    return frame.loc[:, list(COLUMNS)].round(3).to_csv(index=True, index_label="date", date_format="%Y-%m-%d")


def build(root: Path, reservoirs: int, mornings: int) -> Fleet:
    """Ten generated reservoirs (the sample's physics, seeded apart), a ridge version each, levels that the soak's
    days cross, two webhook channels, and a backup."""
    ws = Workspace(root / "ws")
    frames, first_day = {}, None
    for i in range(reservoirs):
        name = f"Soak {i + 1:02d}"
        sample = make_sample(SampleConfig(seed=100 + i, start="2021-01-01", years=4))
        frame = sample.frame
        first_day = frame.index[-mornings]
        frames[name] = frame
        pipeline.import_csv(ws, _csv(frame.loc[: first_day - pd.Timedelta(days=1)]).encode(), reservoir=name,
                            filename=f"{name}-history.csv")
        pipeline.train_reservoir(ws, name, RIDGE)
        soak = frame.loc[first_day:, "level"]
        ws.set_levels(name, [
            OperatingLevel("Flood watch", float(soak.quantile(0.55)), "m", "flood", "watch"),
            OperatingLevel("Flood warning", float(soak.quantile(0.8)), "m", "flood", "warning"),
            OperatingLevel("Low supply", float(soak.quantile(0.2)), "m", "drought", "watch"),
        ])
    steady, flaky = Hook(), Hook()
    notify.add_channel(ws, notify.webhook_spec(steady.url, name="steady"))
    notify.add_channel(ws, notify.webhook_spec(flaky.url, name="flaky"))
    notify.save_notify_settings(ws, send_seconds=2, delivery_seconds=6, max_attempts=8)
    inbox = root / "inbox"
    inbox.mkdir()
    made = Path(backup(ws.root, ws.db_path, root / "morning0.tar.gz").path)
    return Fleet(ws, frames, first_day, inbox, steady, flaky, made)


# ---------------------------------------------------------------- one morning


@dataclass
class Morning:
    """What one simulated morning did and found."""

    day: str
    faults: list[str]
    status: str = ""
    forecast: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    retrained: int = 0
    deliveries: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    misdated_held_out: bool | None = None
    misdated_effect: str = ""  # what the mis-dated row did to its reservoir's cycle row
    restore_refused: bool | None = None
    leftovers: int = 0


def _restore_during_training(fleet: Fleet, name: str) -> bool:
    """Train one reservoir in a thread and attempt restore --force while it holds the reservoir; True if refused."""
    done = threading.Event()
    worker = threading.Thread(target=lambda: (pipeline.train_reservoir(fleet.ws, name, RIDGE), done.set()))
    worker.start()
    refused = None
    while refused is None and worker.is_alive():
        if fleet.ws.training_holder(name) is not None:
            try:
                restore(fleet.backup, fleet.ws.root, force=True)
                refused = False  # it went ahead: the soak's nothing-lost check will show what was lost
            except StoreError:
                refused = True
        time.sleep(0.005)
    worker.join()
    return bool(refused) if refused is not None else True


def morning(fleet: Fleet, index: int, rng: random.Random, root: Path) -> Morning:
    """Drop the day's files (and faults) in the inbox, run the cycle, let the operator fix a merged mis-dated row."""
    ws = fleet.ws
    day = fleet.first_day + pd.Timedelta(days=index)
    faults = [f for f in FAULTS if rng.random() < 0.25]
    names = sorted(fleet.frames)
    bad = rng.choice(names)
    for name, frame in fleet.frames.items():
        rows = frame.loc[[day]]
        if "misdated" in faults and name == bad:
            rows = pd.concat([rows, rows.set_axis(pd.DatetimeIndex([MISDATED], name="date"))])
        (fleet.inbox / f"{name}.csv").write_text(_csv(rows))
    fleet.flaky.set("dead" if "dead_hook" in faults else "slow" if "slow_hook" in faults else "ok")
    out = Morning(day=str(day.date()), faults=faults)
    if "restore_in_training" in faults:
        out.restore_refused = _restore_during_training(fleet, rng.choice(names))
    drill = CrashDrill(folder=str(root / f"drill-{index}"), times=1, reservoirs=(rng.choice(names),))
    options = CycleOptions(
        inbox=str(fleet.inbox),
        retrain="due",
        engine=EngineSettings("local", workers=2),
        rule=DueRule(after_days=10),
        drill=drill if "killed_worker" in faults else None,
    )
    t0 = time.perf_counter()
    report = run_cycle(ws, options)
    out.seconds = time.perf_counter() - t0
    out.status = report.status
    out.forecast = sum(r.status == "ok" for r in report.reservoirs)
    out.failed = {r.reservoir: (r.error or "")[:90] for r in report.reservoirs if r.status != "ok"}
    out.retrained = sum(r.retrained for r in report.reservoirs)
    out.deliveries = Counter(n["status"] for n in report.notifications if n.get("kind") == "delivery")
    if "misdated" in faults:
        merged = pd.Timestamp(MISDATED) in ws.readings(bad, raw=True).index
        out.misdated_held_out = not merged
        row = next(r for r in report.reservoirs if r.reservoir == bad)
        if row.status != "ok":
            out.misdated_effect = f"{bad} failed"
        elif row.issued != out.day or row.data_through != out.day:
            out.misdated_effect = f"{bad} forecast as of {row.issued}, data through {row.data_through}"
        if merged:  # the operator takes it out of the record (undoable), as the Data page lets them
            ws.revise(bad, "level", MISDATED, None, value=None, reason="mis-dated row (soak)", user="soak operator")
            for variable in ("storage", "inflow", "outflow", "rainfall"):
                ws.revise(bad, variable, MISDATED, None, value=None, reason="mis-dated row", user="soak operator")
    return out


# ---------------------------------------------------------------- checks


@dataclass
class Ledger:
    """What must never go down: versions and raw readings per reservoir."""

    versions: dict[str, int] = field(default_factory=dict)
    readings: dict[str, int] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)

    def check(self, ws: Workspace, when: str) -> None:
        """Note anything lost since the last check: a version, its files, a reading, a run left running."""
        for info in ws.reservoirs():
            versions = ws.versions(info.name)
            for v in versions:
                path = ws.root / v.path / v.model_file
                if not path.is_file() or sha256_file(path) != v.sha256:
                    self.lost.append(f"{when}: {info.name} v{v.version} files missing or changed")
            count = len(ws.readings(info.name, raw=True))
            if len(versions) < self.versions.get(info.name, 0) or count < self.readings.get(info.name, 0):
                self.lost.append(f"{when}: {info.name} lost versions or readings")
            self.versions[info.name], self.readings[info.name] = len(versions), count
        if any(run.status == "running" for run in ws.cycle_runs(50)):
            self.lost.append(f"{when}: a cycle run is left 'running'")


def leftovers(ws: Workspace) -> list[str]:
    """Temp folders of saves, restores, repairs and runs, and in-use notes, that nothing is using any more."""
    found = [p.name for p in ws.models_dir.glob("r*/.tmp-*")]
    found += [p.name for p in ws.root.iterdir() if p.name.startswith((".restore-", ".repair-"))]
    found += [p.name for p in (ws.root / ".in-use").glob("*")] if (ws.root / ".in-use").exists() else []
    tmp = Path(tempfile.gettempdir())
    found += [p.name for p in tmp.glob(f"sentinel-cycle-{os.getpid()}-*")]
    return found


def exactly_once(fleet: Fleet) -> dict[str, int]:
    """Each delivered message reached its receiver exactly once; none arrived that the log does not call delivered."""
    received = Counter()
    for hook, channel in ((fleet.steady, "steady"), (fleet.flaky, "flaky")):
        for body in hook.bodies:
            received[(channel, body["reservoir"], body["side"], body["change"], body["state"], body["issued"])] += 1
    delivered = Counter()
    statuses = Counter()
    for event in fleet.ws.alert_events(limit=None):
        for d in event.deliveries:
            statuses[d.status] += 1
            if d.status == "delivered":
                delivered[(d.channel, event.reservoir, event.side, event.change, event.state, event.issued)] += 1
    keys = set(received) | set(delivered)
    return {
        "delivered": sum(delivered.values()),
        "received once": sum(1 for k in keys if received[k] == 1 and delivered[k] == 1),
        "duplicates": sum(1 for k in keys if received[k] > 1),
        "missing": sum(1 for k in keys if delivered[k] > received[k]),
        "unlogged": sum(1 for k in keys if received[k] > delivered[k]),
        **{f"status {k}": v for k, v in sorted(statuses.items())},
    }


# ---------------------------------------------------------------- the run


def _table(days: list[Morning], first: int = 1) -> list[str]:
    """The per-morning table (mornings numbered from `first`)."""
    out = [
        "| morning | day | faults | run | forecast | failed (why) | retrained | deliveries | restore | s |",
        "| ---: | --- | --- | --- | ---: | --- | ---: | --- | --- | ---: |",
    ]
    for i, m in enumerate(days, first):
        failed = "; ".join(f"{k}: {v}" for k, v in m.failed.items()) or "-"
        deliveries = ", ".join(f"{k} {v}" for k, v in sorted(m.deliveries.items())) or "-"
        restore_cell = "-" if m.restore_refused is None else ("refused" if m.restore_refused else "WENT AHEAD")
        effect = f"merged: {m.misdated_effect or 'no effect'}"
        misdated = "" if m.misdated_held_out is None else (" (held out)" if m.misdated_held_out else f" ({effect})")
        faults = ", ".join(m.faults).replace("misdated", "misdated" + misdated) or "-"
        out.append(
            f"| {i} | {m.day} | {faults} | {m.status} | {m.forecast} | {failed} | {m.retrained} | {deliveries} | "
            f"{restore_cell} | {m.seconds:.0f} |"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the soak and print (or --write) its tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mornings", type=int, default=30)
    parser.add_argument("--reservoirs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--write", action="store_true", help="put the tables into bench/RESULTS.md")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="sentinel-soak-"))
    t0 = time.perf_counter()
    try:
        with PeakSampler() as peak:
            fleet = build(root, args.reservoirs, args.mornings)
            ledger = Ledger()
            ledger.check(fleet.ws, "start")
            days, worst_leftovers = [], 0
            for i in range(args.mornings):
                day = morning(fleet, i, rng, root)
                ledger.check(fleet.ws, f"morning {i + 1}")
                day.leftovers = len(leftovers(fleet.ws))
                worst_leftovers = max(worst_leftovers, day.leftovers)
                days.append(day)
                print(_table([day], i + 1)[-1], flush=True)
            fleet.flaky.set("ok")
            notify.deliver_pending(fleet.ws)  # the receiver is back: what waited goes out
            once = exactly_once(fleet)
            left = leftovers(fleet.ws)
        summary = _summary(days, once, ledger, worst_leftovers, left, peak.peak, time.perf_counter() - t0, args)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    lines = [*summary, "", *_table(days)]
    print("\n".join(lines))
    if args.write:
        _write(lines)
    return 0 if not ledger.lost and not once["duplicates"] and not once["missing"] else 1


def _summary(days, once, ledger, worst, left, peak_mb, seconds, args) -> list[str]:  # noqa: ANN001
    """The headline table."""
    counts = Counter(f for d in days for f in d.faults)
    misdated = [d.misdated_held_out for d in days if d.misdated_held_out is not None]
    restores = [d.restore_refused for d in days if d.restore_refused is not None]
    per_cycle = [d.forecast for d in days]
    rows = [
        ("mornings (cycles completed)", f"{sum(d.status in ('ok', 'partial') for d in days)} of {len(days)}"),
        ("reservoirs forecast per cycle", f"min {min(per_cycle)}, median {sorted(per_cycle)[len(per_cycle) // 2]}, "
         f"max {max(per_cycle)} of {args.reservoirs}"),
        ("faults injected", ", ".join(f"{k} {counts[k]}" for k in FAULTS)),
        ("mis-dated rows held out at import", f"{sum(misdated)} of {len(misdated)}"),
        ("mornings a merged mis-dated row failed or mis-dated its reservoir's forecast",
         str(sum(bool(d.misdated_effect) for d in days))),
        ("restores attempted during a training: refused", f"{sum(restores)} of {len(restores)}"),
        ("versions trained and kept", str(sum(d.retrained for d in days))),
        ("deliveries made exactly once", f"{once['received once']} of {once['delivered']} delivered "
         f"(duplicates {once['duplicates']}, missing {once['missing']}, unlogged {once['unlogged']})"),
        ("delivery statuses at the end", ", ".join(f"{k[7:]} {v}" for k, v in once.items() if k.startswith("status"))),
        ("leftovers on disk", f"at most {worst} after a morning, {len(left)} at the end"),
        ("lost (versions, files, readings, runs left running)", "; ".join(ledger.lost) or "nothing"),
        ("peak memory (driver + workers)", f"{peak_mb:.0f} MB"),
        ("wall time", f"{seconds / 60:.1f} min"),
    ]
    where = f"{os.cpu_count()} CPUs (machine shared), Python {sys.version.split()[0]}"
    head = [f"Soak test, {dt.date.today()}, {where}, seed {args.seed}: `python -m bench.soak`", ""]
    table = ["| measure | result |", "| --- | --- |", *(f"| {k} | {v} |" for k, v in rows)]
    notes = [
        "",
        "The slow receiver answers one byte a second: each attempt to it ends at the 2 s bound as a failed attempt "
        "and is retried; it records only requests it answered, so 'exactly once' counts what each receiver "
        "acknowledged.",
    ]
    merged = len(misdated) - sum(misdated)
    if merged:
        hit = sum(bool(d.misdated_effect) for d in days)
        notes += [
            "",
            f"{merged} mis-dated row(s) were merged by the import instead of held out; {hit} of them failed (or "
            "mis-dated) their reservoir's row that morning (see the faults column), the others fell on the date an "
            "earlier revision had masked. After each morning the soak's operator masks the reading with a revision. "
            "Holding such rows out at import is issue 19 item 4.",
        ]
    return head + table + notes


def _write(lines: list[str]) -> None:
    """Replace (or add) the soak section of bench/RESULTS.md."""
    text = RESULTS.read_text() if RESULTS.exists() else ""
    block = f"## {SECTION}\n\n" + "\n".join(lines) + "\n"
    start = text.find(f"## {SECTION}")
    if start < 0:
        text = text.rstrip() + "\n\n" + block
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + block + (text[end + 1 :] if end >= 0 else "")
    RESULTS.write_text(text)


if __name__ == "__main__":
    raise SystemExit(main())
