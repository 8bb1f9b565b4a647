"""What counts as an alert change, per reservoir and side, and recording it (the rule `publish` applies).

The rule: each side's new state is compared with the last *judged* state stored for that side.

* new: normal (or never seen) -> watch/warning/danger; escalated: to a more severe state (watch -> warning);
  eased: to a less severe raised state (danger -> warning); cleared: raised -> normal.
* The same state again is no change, whatever its probability or date did: nothing is recorded or sent.
* A side seen for the first time in the normal state is stored as the baseline, silently.
* States that cannot be judged ("unknown": a model without calibrated bands; "no levels": no operating levels on
  that side) are recorded in the event log as change "unjudged" when they first appear, but never sent, and
  they do not overwrite the judged state: a flood WARNING followed by a forecast that cannot be judged stays the
  flood WARNING the operators were told about, and the next judged state is compared with it (warning -> normal
  sends "cleared"; warning -> warning sends nothing).
"""

from __future__ import annotations

from collections.abc import Mapping

from core.data.levels import SEVERITIES
from core.forecast.risk import SideAlert
from core.notify.messages import payload as message_payload
from core.store.notices import PlannedChange as Planned

NORMAL = "normal"
JUDGED = (NORMAL, *SEVERITIES)  # states the alert rule can decide; others are recorded, not sent
SEVERITY_RANK = {NORMAL: 0, **{s: i + 1 for i, s in enumerate(SEVERITIES)}}  # normal < watch < warning < danger
CHANGE_KINDS = ("new", "escalated", "eased", "cleared", "unjudged")
UNJUDGED = "unjudged"
NEVER_SEEN = "none"


def change_kind(previous: str, state: str) -> str | None:
    """new / escalated / eased / cleared between two judged states; None when the severity did not change."""
    before, after = SEVERITY_RANK[previous], SEVERITY_RANK[state]
    if before == after:
        return None
    if before == 0:
        return "new"
    if after == 0:
        return "cleared"
    return "escalated" if after > before else "eased"


def plan_side(reservoir: str, alert: SideAlert, seen: tuple[str, str] | None, *, issued: str, link: str) -> Planned:
    """The state to store for one side and, when it changed, the event (message and payload) to record."""
    last_state, last_judged = seen if seen is not None else (NEVER_SEEN, NORMAL)
    if alert.state in JUDGED:
        kind = change_kind(last_judged, alert.state)
        judged, previous, sent = alert.state, last_judged, kind is not None
    else:
        kind = UNJUDGED if last_state != alert.state else None
        judged, previous, sent = last_judged, last_state, False
    payload = None if kind is None else message_payload(reservoir, alert, kind, previous, issued=issued, link=link)
    return Planned(
        side=alert.side,
        state=alert.state,
        judged=judged,
        alert=alert.to_dict(),
        change=kind,
        previous=previous,
        sent=sent,
        message=payload["message"] if payload else "",
        payload=payload,
    )


def plan(
    reservoir: str, alerts: Mapping[str, SideAlert], seen: Mapping[str, tuple[str, str]], *, issued: str, link: str
) -> list[Planned]:
    """plan_side for every side given, in the order given."""
    return [plan_side(reservoir, a, seen.get(a.side), issued=issued, link=link) for a in alerts.values()]
