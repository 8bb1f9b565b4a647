"""One alert truth: the judgement of the active model's latest forecast, recorded wherever that forecast is issued.

The daily cycle records each side's alert state (core.notify.publish) from the forecast it issues. The Forecast
page, the Overview cards, the bulletin and the CLI `forecast` issue the same forecast (the active version, from the
latest readings) and record its judgement the same way, so the Alerts page, the notification log and every view
of that forecast say the same state from the first forecast on, not only after the first cycle. Recording never
sends: a change queues one delivery per channel, sent by the next delivery run (the cycle's end, or 'Send the
waiting messages now' on the Alerts page). A state that is already recorded for the same issue day is not written
again, so reading pages does not rewrite the store; a user whose role may not run the cycle (a viewer) records
nothing, and the Alerts page then shows what was last recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from core import notify
from core.forecast.issue import Forecast
from core.forecast.risk import SideAlert
from core.store.notices import AlertChange, SideState
from core.store.workspace import Workspace

RECORD_ACTION = "cycle"  # recording alert states is part of the cycle (core.auth.roles.PERMISSIONS)


def side_alerts_of(forecast: Forecast) -> dict[str, SideAlert]:
    """The forecast's alert per side as SideAlerts (a forecast read back from JSON holds plain dicts)."""
    return {
        side: alert if isinstance(alert, SideAlert) else SideAlert(**alert)
        for side, alert in (forecast.alerts or {}).items()
    }


def already_recorded(recorded: Mapping[str, SideState], alerts: Mapping[str, SideAlert], issued: str) -> bool:
    """Every side's state is the one recorded from a forecast of the same issue day (nothing to write)."""
    return all(
        side in recorded and recorded[side].state == alert.state and recorded[side].issued == issued
        for side, alert in alerts.items()
    )


def record_judgement(
    ws: Workspace, forecast: Forecast, chart_png: Callable[[], bytes | None] | None = None
) -> list[AlertChange]:
    """Record the alert states of the active model's latest forecast as the cycle does; the changes recorded.

    Call it only with that forecast (not a hindcast, not another version): it is the reservoir's alert now.
    """
    alerts = side_alerts_of(forecast)
    if not alerts or not ws.actor.allows(RECORD_ACTION):
        return []
    recorded = {s.side: s for s in ws.alert_states(forecast.reservoir)}
    if already_recorded(recorded, alerts, forecast.issued):
        return []
    return notify.publish(ws, forecast.reservoir, alerts, issued=forecast.issued, chart_png=chart_png)

