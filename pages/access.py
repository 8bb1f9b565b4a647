"""Sign-in for the dashboard: who the visitor is (Streamlit's OIDC `st.login`) and what their role lets them do.

Not a page. app.py calls `gate` before any page runs: without an `[auth]` section in .streamlit/secrets.toml the
dashboard is a single-user local tool (it listens on 127.0.0.1 only) and everyone acts as the local user; with it, an
anonymous visitor sees only the sign-in, a signed-in subject without a role sees "ask an administrator" and no data,
and everyone else gets their stored role. The role is enforced again in core on every write; pages only hide what
would be refused.
"""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from core.auth.roles import LOCAL_ACTOR, Actor, PermissionDenied
from core.store.workspace import Workspace

ACTOR_KEY = "_actor"  # session_state: the actor of this run, set by gate()
__all__ = ["PermissionDenied", "auth_configured", "current_actor", "gate", "sidebar_identity", "signed_in_actor"]
NO_SIGN_IN = Actor(LOCAL_ACTOR.subject, "local user (no sign-in)", LOCAL_ACTOR.role)


def auth_configured() -> bool:
    """True when .streamlit/secrets.toml has an [auth] section (then sign-in is required)."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError, ValueError):  # no secrets file, or one Streamlit cannot parse
        return False


def _claims() -> dict[str, Any]:
    """The signed-in user's identity claims (empty when nobody is signed in)."""
    try:
        return st.user.to_dict() if st.user.is_logged_in else {}
    except (AttributeError, KeyError):
        return {}


def signed_in_actor(ws: Workspace) -> Actor | None:
    """This session's actor: the local user without sign-in, else the signed-in subject's stored role (or None)."""
    if not auth_configured():
        return NO_SIGN_IN
    claims = _claims()
    subject = str(claims.get("sub") or "").strip()
    if not subject:
        return None
    return ws.actor_for(subject, str(claims.get("email") or claims.get("name") or ""))


def current_actor(ws: Workspace) -> Actor | None:
    """This run's actor (gate() stored it; pages run on their own in tests compute it)."""
    actor = st.session_state.get(ACTOR_KEY)
    return actor if isinstance(actor, Actor) else signed_in_actor(ws)


def _sign_in_page() -> None:
    """What an anonymous visitor sees: the product name, why sign-in is needed, the button."""
    st.title("Reservoir Sentinel")
    st.write(
        "Forecasts, risk bands and alerts for the utility's reservoirs. Sign in with your organisation's account "
        "to continue; an administrator gives each account a role (viewer, operator or admin)."
    )
    if st.button("Sign in", type="primary", key="sign_in"):
        st.login()


def _ask_admin_page(claims: dict[str, Any]) -> None:
    """A signed-in person without a role: who they are and what to send an administrator; no data."""
    st.title("Ask an administrator for access")
    who = claims.get("email") or claims.get("name") or "You"
    st.write(
        f"{who} signed in, but this account has no role in this Reservoir Sentinel workspace yet, so no data is "
        "shown. Send an administrator the line below; they add you on the Admin page or with the command."
    )
    st.code(f"python -m core users --add {claims.get('sub', '?')} --role viewer", language="bash")
    if st.button("Sign out", key="sign_out_unknown"):
        st.logout()


def gate(ws: Workspace) -> Actor:
    """Stop the run unless the visitor may see data; returns (and remembers for this run) who they are."""
    actor = signed_in_actor(ws)
    if actor is None:
        claims = _claims()
        if claims:
            _ask_admin_page(claims)
        else:
            _sign_in_page()
        st.stop()
    st.session_state[ACTOR_KEY] = actor
    return actor


def _escaped(text: str) -> str:
    """A claim shown in Markdown literally (a name cannot add links or formatting)."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!<>|~])", r"\\\1", str(text))


def sidebar_identity(actor: Actor) -> None:
    """Who is signed in and as what, or that no sign-in is configured (so the tool is local only)."""
    with st.sidebar:
        if not auth_configured():
            st.caption(
                "No sign-in is configured: a single-user local tool, listening on 127.0.0.1 only. "
                "See the README to serve it to others behind sign-in and HTTPS."
            )
            return
        st.caption(f"Signed in as **{_escaped(actor.name)}** ({actor.role.name})")
        if st.button("Sign out", key="sign_out"):
            st.logout()


if __name__ == "__main__":  # run on its own (Streamlit's pages/ discovery): the app, never this module alone
    from pages.common import run_page

    run_page()
