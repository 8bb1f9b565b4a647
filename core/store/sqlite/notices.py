"""Notifications in SQLite: the notify_*, alert_*, deliveries and delivery_attempts tables (the contract:
core.store.notices). Each write is one short transaction; rows come back as the contract's frozen dataclasses."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from core.data.levels import SIDES
from core.jsonio import loads
from core.store.common import now_utc, to_json
from core.store.errors import StoreError
from core.store.notices import (
    CHANNEL_KINDS,
    STALE_SENDING_S,
    TEST_CHANGE,
    UNSENT,
    Ack,
    AlertChange,
    Channel,
    Delivery,
    PendingDelivery,
    PlannedChange,
    SideState,
    StateMoved,
)
from core.store.sqlite.base import SqliteRepository

_EVENT_SELECT = "SELECT e.*, r.name AS reservoir FROM alert_events e LEFT JOIN reservoirs r ON r.id = e.reservoir_id"
_DELIVERY_SELECT = (
    "SELECT d.*, e.change, e.side, r.name AS reservoir FROM deliveries d JOIN alert_events e ON e.id = d.event_id "
    "LEFT JOIN reservoirs r ON r.id = e.reservoir_id"
)


class SqliteNotices(SqliteRepository):
    """Notification channels, alert states, events, deliveries and acknowledgements in SQLite."""

    # ------------------------------------------------------------------ settings

    def notify_setting(self, key: str, default: Any = None) -> Any:
        """A workspace-wide notification setting (e.g. base_url), or default when never set."""
        with self._tx(write=False) as conn:
            row = conn.execute("SELECT value FROM notify_settings WHERE key = ?", (key,)).fetchone()
        return default if row is None else loads(row["value"])

    def set_notify_setting(self, key: str, value: Any) -> None:
        """Store one setting; None removes it (back to the default)."""
        with self._tx(write=True) as conn:
            self._guard(conn, "channels", None, f"notification setting {key} = {value}")
            if value is None:
                conn.execute("DELETE FROM notify_settings WHERE key = ?", (key,))
            else:
                conn.execute(
                    "INSERT INTO notify_settings(key, value) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (key, to_json(value, f"notification setting '{key}'")),
                )

    # ------------------------------------------------------------------ channels

    def channels(self) -> list[Channel]:
        """Configured channels in the order they were added."""
        with self._tx(write=False) as conn:
            rows = conn.execute("SELECT * FROM notify_channels ORDER BY id").fetchall()
        return [_channel(r) for r in rows]

    def channel(self, name: str) -> Channel:
        """One channel by case-insensitive name; the error lists the configured ones."""
        with self._tx(write=False) as conn:
            return _channel(self._channel_row(conn, name))

    def add_channel(self, name: str, kind: str, target: str, options: Mapping[str, Any]) -> Channel:
        """Store a checked channel (core.notify.channels checks it); a taken name is refused."""
        if kind not in CHANNEL_KINDS:
            raise StoreError(f"Unknown channel kind '{kind}'; use one of {', '.join(CHANNEL_KINDS)}.")
        with self._tx(write=True) as conn:
            self._guard(conn, "channels", None, f"add {kind} channel {name}: {target}")
            if conn.execute("SELECT 1 FROM notify_channels WHERE name = ?", (name,)).fetchone():
                raise StoreError(f"A channel named '{name}' exists already; pick another --name or remove it first.")
            conn.execute(
                "INSERT INTO notify_channels(name, kind, target, options, created) VALUES (?, ?, ?, ?, ?)",
                (name, kind, target, to_json(dict(options), "channel options"), now_utc()),
            )
            return _channel(self._channel_row(conn, name))

    def remove_channel(self, name: str) -> Channel:
        """Remove a channel; its deliveries not yet delivered (waiting, or stuck 'sending' by a sender that died) are
        marked dropped and kept in the log. Channel ids are never reused, so nothing can reach another channel."""
        with self._tx(write=True) as conn:
            row = self._channel_row(conn, name)
            self._guard(conn, "channels", None, f"remove channel {row['name']}")
            placeholders = ",".join("?" * len(UNSENT))
            conn.execute(
                f"UPDATE deliveries SET status = 'dropped', error = 'channel removed', updated = ? "
                f"WHERE channel_id = ? AND status IN ({placeholders})",
                (now_utc(), row["id"], *UNSENT),
            )
            conn.execute("DELETE FROM notify_channels WHERE id = ?", (row["id"],))
        return _channel(row)

    def _channel_row(self, conn: sqlite3.Connection, name: str) -> sqlite3.Row:
        """A channel row by name, or a StoreError naming the ones there are."""
        row = conn.execute("SELECT * FROM notify_channels WHERE name = ?", (str(name).strip(),)).fetchone()
        if row is None:
            known = [r[0] for r in conn.execute("SELECT name FROM notify_channels ORDER BY id")]
            hint = f"Configured channels: {', '.join(known)}." if known else "No channel is configured yet."
            raise StoreError(f"No notification channel named '{name}'. {hint}")
        return row

    # ------------------------------------------------------------------ alert states and changes

    def alert_states(self, reservoir: str | None = None) -> list[SideState]:
        """The last alert seen per reservoir and side (all reservoirs, or one), with the latest acknowledgement."""
        sql = (
            "SELECT s.*, r.name AS reservoir, a.user AS acked_by, a.time AS acked_at FROM alert_states s "
            "JOIN reservoirs r ON r.id = s.reservoir_id LEFT JOIN alert_acks a ON a.id = "
            "(SELECT MAX(id) FROM alert_acks WHERE event_id = s.event_id)"
        )
        with self._tx(write=False) as conn:
            if reservoir is None:
                rows = conn.execute(sql + " ORDER BY r.name COLLATE NOCASE, s.side DESC").fetchall()
            else:
                rid = self._reservoir_row(conn, reservoir)["id"]
                rows = conn.execute(sql + " WHERE s.reservoir_id = ? ORDER BY s.side DESC", (rid,)).fetchall()
        return [_side_state(r) for r in rows]

    def seen_states(self, reservoir: str) -> dict[str, tuple[str, str]]:
        """{side: (state last seen, last judged state)} of a reservoir; a side never seen is absent."""
        with self._tx(write=False) as conn:
            return self._seen(conn, self._reservoir_row(conn, reservoir)["id"])

    @staticmethod
    def _seen(conn: sqlite3.Connection, rid: int) -> dict[str, tuple[str, str]]:
        """The alert_states of one reservoir as {side: (state, judged)}."""
        rows = conn.execute("SELECT side, state, judged FROM alert_states WHERE reservoir_id = ?", (rid,)).fetchall()
        return {r["side"]: (r["state"], r["judged"]) for r in rows}

    def record_alert_changes(
        self,
        reservoir: str,
        planned: Sequence[PlannedChange],
        expected: Mapping[str, tuple[str, str]],
        *,
        issued: str,
        channels: Sequence[Channel],
        chart: bytes | None,
        now: str | None = None,
    ) -> list[AlertChange]:
        """In one transaction: refresh each side's state, record its change event and queue one delivery per channel.

        `expected` is what the caller read with seen_states; when another process moved a state since, StateMoved
        is raised and nothing is written (the caller reads again), so a change is never recorded twice.
        """
        self._guard(None, "cycle")  # recording alert changes is part of the cycle
        now = now or now_utc()
        changes = [f"{p.side} {p.change} ({p.previous} -> {p.state})" for p in planned if p.change is not None]
        with self._tx(write=True) as conn:
            res = self._reservoir_row(conn, reservoir)
            rid = res["id"]
            if self._seen(conn, rid) != dict(expected):
                raise StateMoved(f"The alert state of '{reservoir}' changed while it was being compared; try again.")
            if changes:  # refreshing an unchanged state is bookkeeping; a change is logged
                self._guard(conn, "cycle", res["name"], "alert " + ", ".join(changes))
            recorded = [self._record_side(conn, rid, p, issued, channels, chart, now) for p in planned]
            ids = [i for i in recorded if i is not None]
            return self._events(conn, "WHERE e.id IN ({}) ORDER BY e.id".format(",".join("?" * len(ids))), ids)

    def _record_side(
        self,
        conn: sqlite3.Connection,
        rid: int,
        p: PlannedChange,
        issued: str,
        channels: Sequence[Channel],
        chart: bytes | None,
        now: str,
    ) -> int | None:
        """Write one side's state row, and its event plus deliveries when it changed; the event id or None."""
        old = conn.execute(
            "SELECT event_id FROM alert_states WHERE reservoir_id = ? AND side = ?", (rid, p.side)
        ).fetchone()
        event_id = old["event_id"] if old else None
        new_event = None
        if p.change is not None:
            new_event = self._insert_event(conn, rid, p, issued, chart if p.sent else None, now)
            if p.sent:
                event_id = new_event if p.judged not in ("normal",) else None
                self._queue(conn, new_event, channels, now)
        conn.execute(
            "INSERT INTO alert_states(reservoir_id, side, state, judged, alert, issued, time, event_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(reservoir_id, side) DO UPDATE SET state = excluded.state, "
            "judged = excluded.judged, alert = excluded.alert, issued = excluded.issued, time = excluded.time, "
            "event_id = excluded.event_id",
            (rid, p.side, p.state, p.judged, to_json(p.alert, "alert"), issued, now, event_id),
        )
        return new_event

    @staticmethod
    def _insert_event(
        conn: sqlite3.Connection, rid: int | None, p: PlannedChange, issued: str | None, chart: bytes | None, now: str
    ) -> int:
        """One alert_events row; its id."""
        cur = conn.execute(
            "INSERT INTO alert_events(reservoir_id, side, change, state, previous, alert, message, payload, sent, "
            "issued, time, chart) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                rid,
                p.side,
                p.change,
                p.state,
                p.previous,
                to_json(p.alert, "alert"),
                p.message,
                to_json(p.payload or {}, "notification payload"),
                int(p.sent),
                issued,
                now,
                chart,
            ),
        )
        return int(cur.lastrowid)

    @staticmethod
    def _queue(conn: sqlite3.Connection, event_id: int, channels: Sequence[Channel], now: str) -> None:
        """One queued delivery per channel for an event."""
        for ch in channels:
            row = conn.execute("SELECT id FROM notify_channels WHERE name = ?", (ch.name,)).fetchone()
            if row is None:  # removed between reading the channels and this write
                continue
            conn.execute(
                "INSERT INTO deliveries(event_id, channel_id, channel, kind, target, status, attempts, created, "
                "updated) VALUES (?, ?, ?, ?, ?, 'queued', 0, ?, ?)",
                (event_id, row["id"], ch.name, ch.kind, ch.target, now, now),
            )

    def record_test(self, channel: Channel, message: str, payload: Mapping[str, Any], chart: bytes | None) -> int:
        """A channel test as an event with one queued delivery to that channel only; the delivery id."""
        plan = PlannedChange(TEST_CHANGE, TEST_CHANGE, TEST_CHANGE, {}, TEST_CHANGE, "", True, message, dict(payload))
        now = now_utc()
        with self._tx(write=True) as conn:
            self._guard(conn, "channels", None, f"test message to channel {channel.name}")
            event_id = self._insert_event(conn, None, plan, None, chart, now)
            self._queue(conn, event_id, [channel], now)
            return int(conn.execute("SELECT MAX(id) FROM deliveries WHERE event_id = ?", (event_id,)).fetchone()[0])

    # ------------------------------------------------------------------ deliveries

    def claim_deliveries(self, now: str | None = None, only: Sequence[int] | None = None) -> list[PendingDelivery]:
        """Mark every queued/failed delivery (and stale 'sending' ones) as sending and return them to send now."""
        self._guard(None, "cycle")  # sending is part of the cycle (checked, not logged per call)
        now = now or now_utc()
        stale = _shift(now, -STALE_SENDING_S)
        with self._tx(write=True) as conn:
            rows = conn.execute(
                _DELIVERY_SELECT
                + " WHERE d.status IN ('queued', 'failed') OR (d.status = 'sending' AND d.updated < ?) "
                "ORDER BY d.attempts, d.id",  # the least tried first: a budget cut short never starves one
                (stale,),
            ).fetchall()
            if only is not None:
                rows = [r for r in rows if r["id"] in set(only)]
            out = []
            for r in rows:
                ch = conn.execute("SELECT * FROM notify_channels WHERE id = ?", (r["channel_id"],)).fetchone()
                if ch is None or (ch["kind"], ch["target"]) != (r["kind"], r["target"]):  # only what the log names
                    conn.execute(
                        "UPDATE deliveries SET status = 'dropped', error = 'channel removed', updated = ? WHERE id = ?",
                        (now, r["id"]),
                    )
                    continue
                conn.execute("UPDATE deliveries SET status = 'sending', updated = ? WHERE id = ?", (now, r["id"]))
                ev = conn.execute("SELECT payload, chart FROM alert_events WHERE id = ?", (r["event_id"],)).fetchone()
                out.append(PendingDelivery(_delivery(r), _channel(ch), loads(ev["payload"], {}), ev["chart"]))
        return out

    def release_deliveries(self, delivery_ids: Sequence[int], now: str | None = None) -> None:
        """Hand claimed deliveries that were never attempted back to waiting (queued, or failed when tried before)."""
        self._guard(None, "cycle")  # undoing this sender's own claim: checked, not logged
        ids = [int(i) for i in delivery_ids]
        if not ids:
            return
        with self._tx(write=True) as conn:
            conn.execute(
                "UPDATE deliveries SET status = CASE WHEN attempts = 0 THEN 'queued' ELSE 'failed' END, updated = ? "
                f"WHERE status = 'sending' AND id IN ({','.join('?' * len(ids))})",
                (now or now_utc(), *ids),
            )

    def finish_delivery(
        self, delivery_id: int, error: str | None, max_attempts: int, now: str | None = None
    ) -> Delivery:
        """Log one attempt: delivered when error is None, else failed (retried later) or gave_up at max_attempts; a
        delivery dropped while it was being sent (its channel removed) stays dropped unless it got through."""
        now = now or now_utc()
        with self._tx(write=True) as conn:
            row = conn.execute(_DELIVERY_SELECT + " WHERE d.id = ?", (delivery_id,)).fetchone()
            if row is None:
                raise StoreError(f"No delivery #{delivery_id} in this workspace.")
            attempt = int(row["attempts"]) + 1
            status = "delivered" if error is None else "gave_up" if attempt >= max_attempts else "failed"
            if row["status"] == "dropped" and error is not None:
                status = "dropped"
            self._guard(conn, "cycle", row["reservoir"], f"delivery #{delivery_id} to {row['channel']}: {status}")
            conn.execute(
                "UPDATE deliveries SET status = ?, attempts = ?, error = ?, updated = ? WHERE id = ?",
                (status, attempt, error, now, delivery_id),
            )
            conn.execute(
                "INSERT INTO delivery_attempts(delivery_id, attempt, time, status, error) VALUES (?, ?, ?, ?, ?)",
                (delivery_id, attempt, now, "delivered" if error is None else "failed", error),
            )
            return _delivery(conn.execute(_DELIVERY_SELECT + " WHERE d.id = ?", (delivery_id,)).fetchone())

    # ------------------------------------------------------------------ event log and acknowledgements

    def alert_events(self, reservoir: str | None = None, limit: int | None = 100) -> list[AlertChange]:
        """Recorded changes (and channel tests), newest first, each with its deliveries and acknowledgements."""
        with self._tx(write=False) as conn:
            where, params = "", []
            if reservoir is not None:
                where, params = "WHERE e.reservoir_id = ?", [self._reservoir_row(conn, reservoir)["id"]]
            tail = " ORDER BY e.id DESC" + (" LIMIT ?" if limit is not None else "")
            return self._events(conn, where + tail, params + ([int(limit)] if limit is not None else []))

    def _events(self, conn: sqlite3.Connection, where: str, params: Sequence[Any]) -> list[AlertChange]:
        """Event rows as AlertChange, with their deliveries and acks."""
        if "IN ()" in where:
            return []
        rows = conn.execute(f"{_EVENT_SELECT} {where}", list(params)).fetchall()
        out = []
        for r in rows:
            dels = conn.execute(_DELIVERY_SELECT + " WHERE d.event_id = ? ORDER BY d.id", (r["id"],)).fetchall()
            acks = conn.execute("SELECT * FROM alert_acks WHERE event_id = ? ORDER BY id", (r["id"],)).fetchall()
            out.append(_event(r, tuple(_delivery(d) for d in dels), tuple(_ack(a) for a in acks)))
        return out

    def acknowledge(self, reservoir: str, side: str, user: str, note: str = "", now: str | None = None) -> Ack:
        """Record who acknowledged the side's raised alert; refused when that side has no raised alert."""
        if side not in SIDES:
            raise StoreError(f"'{side}' is not a side; acknowledge the {' or the '.join(SIDES)} alert.")
        user = str(user).strip()
        if not user:
            raise StoreError("Say who acknowledges the alert (a name or initials).")
        with self._tx(write=True) as conn:
            res = self._reservoir_row(conn, reservoir)
            row = conn.execute(
                "SELECT judged, event_id FROM alert_states WHERE reservoir_id = ? AND side = ?", (res["id"], side)
            ).fetchone()
            if row is None or row["event_id"] is None:
                now_is = f"its {side} state is {row['judged']}" if row else f"no {side} alert was recorded yet"
                raise StoreError(f"'{res['name']}' has no raised {side} alert to acknowledge ({now_is}).")
            self._guard(conn, "acknowledge", res["name"], f"{side} {row['judged']} acknowledged by {user}")
            cur = conn.execute(
                "INSERT INTO alert_acks(event_id, user, time, note) VALUES (?, ?, ?, ?)",
                (row["event_id"], user, now or now_utc(), str(note)),
            )
            return _ack(conn.execute("SELECT * FROM alert_acks WHERE id = ?", (cur.lastrowid,)).fetchone())


# ---------------------------------------------------------------------- row readers


def _channel(r: sqlite3.Row) -> Channel:
    """A notify_channels row as a Channel."""
    return Channel(r["name"], r["kind"], r["target"], loads(r["options"], {}), r["created"])


def _delivery(r: sqlite3.Row) -> Delivery:
    """A deliveries row (joined with its event) as a Delivery."""
    return Delivery(
        id=int(r["id"]),
        event_id=int(r["event_id"]),
        reservoir=r["reservoir"],
        side=r["side"],
        change=r["change"],
        channel=r["channel"],
        kind=r["kind"],
        target=r["target"],
        status=r["status"],
        attempts=int(r["attempts"]),
        error=r["error"],
        created=r["created"],
        updated=r["updated"],
    )


def _ack(r: sqlite3.Row) -> Ack:
    """An alert_acks row as an Ack."""
    return Ack(int(r["id"]), int(r["event_id"]), r["user"], r["time"], r["note"])


def _event(r: sqlite3.Row, deliveries: tuple[Delivery, ...], acks: tuple[Ack, ...]) -> AlertChange:
    """An alert_events row as an AlertChange."""
    alert = loads(r["alert"], {})
    payload = loads(r["payload"], {})
    return AlertChange(
        id=int(r["id"]),
        reservoir=r["reservoir"],
        side=r["side"],
        change=r["change"],
        state=r["state"],
        previous=r["previous"],
        level=alert.get("level"),
        value=alert.get("value"),
        probability=float(alert.get("probability") or 0.0),
        date=alert.get("date"),
        reason=str(alert.get("reason") or ""),
        message=r["message"],
        link=payload.get("link"),
        issued=r["issued"],
        time=r["time"],
        sent=bool(r["sent"]),
        deliveries=deliveries,
        acks=acks,
    )


def _side_state(r: sqlite3.Row) -> SideState:
    """An alert_states row (joined with its reservoir and latest ack) as a SideState."""
    alert = loads(r["alert"], {})
    return SideState(
        reservoir=r["reservoir"],
        side=r["side"],
        state=r["state"],
        judged=r["judged"],
        level=alert.get("level"),
        probability=float(alert.get("probability") or 0.0),
        date=alert.get("date"),
        reason=str(alert.get("reason") or ""),
        issued=r["issued"],
        time=r["time"],
        event_id=r["event_id"],
        acked_by=r["acked_by"],
        acked_at=r["acked_at"],
    )


def _shift(stamp: str, seconds: float) -> str:
    """An ISO UTC stamp moved by `seconds`, in the workspace's one time format."""
    try:
        base = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise StoreError(f"Time '{stamp}' is not in the form YYYY-MM-DDTHH:MM:SSZ (UTC).") from exc
    return (base + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
