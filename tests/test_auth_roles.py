"""Sign-in and roles: core refuses what a role does not allow, logs who did what, and the pages follow.

Core is checked directly (a page that forgot to hide a button must still be refused), then the app through
AppTest with `at.user` and an [auth] section in `at.secrets`, for each kind of visitor.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.app.pipeline import set_alert_trigger
from core.auth.roles import LOCAL_ACTOR, PERMISSIONS, Actor, PermissionDenied, Role
from core.data.levels import OperatingLevel
from core.data.sample import SAMPLE_NAME
from core.store.workspace import Workspace
from tests.apptest_support import APP, texts

VIEWER = Actor("sub-viewer", "vera@utility.example", Role.viewer)
OPERATOR = Actor("sub-operator", "otto@utility.example", Role.operator)
ADMIN = Actor("sub-admin", "ada@utility.example", Role.admin)
AUTH = {  # what .streamlit/secrets.toml holds when sign-in is configured (never contacted in AppTest)
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "test-secret-not-for-production",
    "client_id": "sentinel",
    "client_secret": "sentinel-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
FLOOD = OperatingLevel("Flood watch", 5.0, "m", "flood", "watch", "level")


@pytest.fixture
def ws(trained_sample, tmp_path) -> Workspace:
    """A private copy of the trained sample workspace with one user of each role."""
    root = tmp_path / "ws"
    shutil.copytree(trained_sample[0].root, root)
    ws = Workspace(root)
    for actor in (VIEWER, OPERATOR, ADMIN):
        ws.set_user(actor.subject, actor.role, actor.name)
    return ws


def test_every_action_has_a_role_and_roles_nest() -> None:
    """One table says who may do what; an admin may do all, a viewer only read and export."""
    assert all(ADMIN.allows(a) for a in PERMISSIONS)
    assert {a for a in PERMISSIONS if VIEWER.allows(a)} == {"read", "export"}
    assert not OPERATOR.allows("delete_version") and OPERATOR.allows("activate")
    with pytest.raises(KeyError, match="No permission rule"):
        VIEWER.allows("launch_rockets")


def test_viewer_writes_are_refused_in_core(ws: Workspace) -> None:
    """A viewer can read but every write path refuses, naming the role it needs; nothing changes."""
    viewer = ws.acting_as(VIEWER)
    pd.testing.assert_frame_equal(viewer.readings(SAMPLE_NAME), ws.readings(SAMPLE_NAME))  # reads all an admin does
    version = ws.active_version(SAMPLE_NAME).version
    before = (ws.levels(SAMPLE_NAME), ws.revisions(SAMPLE_NAME), ws.get_meta(SAMPLE_NAME, "alert_trigger"))
    refused = [
        lambda: viewer.set_levels(SAMPLE_NAME, [FLOOD]),
        lambda: set_alert_trigger(viewer, SAMPLE_NAME, 0.9),
        lambda: viewer.activate(SAMPLE_NAME, version),
        lambda: viewer.revise(SAMPLE_NAME, "level", "2024-01-01", None, value=None, reason="x", user="vera"),
        lambda: viewer.create_job(SAMPLE_NAME, "train", {}),
        lambda: viewer.set_user("someone", "admin"),
    ]
    for call in refused:
        with pytest.raises(PermissionDenied, match="signed in as viewer"):
            call()
    assert (ws.levels(SAMPLE_NAME), ws.revisions(SAMPLE_NAME), ws.get_meta(SAMPLE_NAME, "alert_trigger")) == before
    assert not [a for a in ws.activity() if a.name == VIEWER.name]  # a refused action logs nothing


def test_operator_may_operate_but_not_administer(ws: Workspace) -> None:
    """An operator sets levels and the trigger; deleting versions and managing users needs an admin."""
    operator = ws.acting_as(OPERATOR)
    operator.set_levels(SAMPLE_NAME, [FLOOD])
    set_alert_trigger(operator, SAMPLE_NAME, 0.3)
    with pytest.raises(PermissionDenied, match="needs the admin role"):
        operator.set_user("sub-new", "viewer")
    with pytest.raises(PermissionDenied, match="needs the admin role"):
        operator.remove_user(VIEWER.subject)
    with pytest.raises(PermissionDenied, match="'delete version' needs the admin role"):
        operator.delete_version(SAMPLE_NAME, ws.active_version(SAMPLE_NAME).version)
    assert ws.actor_for(VIEWER.subject).role is Role.viewer


def test_activity_log_names_who_did_what(ws: Workspace) -> None:
    """Levels, trigger and user changes are logged with the person who made them, newest first."""
    ws.acting_as(OPERATOR).set_levels(SAMPLE_NAME, [FLOOD])
    set_alert_trigger(ws.acting_as(OPERATOR), SAMPLE_NAME, 0.35)
    ws.acting_as(ADMIN).set_user("sub-new", "viewer", "new@utility.example")
    log = ws.activity(limit=3)
    assert [(a.action, a.name) for a in log] == [
        ("users", ADMIN.name),
        ("levels", OPERATOR.name),
        ("levels", OPERATOR.name),
    ]
    assert "alert_trigger set to 0.35" in log[1].detail and "Flood watch 5" in log[2].detail
    assert log[0].reservoir is None and log[1].reservoir == SAMPLE_NAME


def test_actor_for_unknown_subject_is_none(ws: Workspace) -> None:
    """A signed-in subject an administrator never added has no role (the app then shows no data)."""
    assert ws.actor_for("sub-stranger") is None
    assert ws.actor_for(OPERATOR.subject) == OPERATOR
    assert Workspace(ws.root).actor == LOCAL_ACTOR  # the CLI and background jobs act as the local user


# ----------------------------------------------------------------- the app, per visitor


def _app(ws: Workspace, monkeypatch: pytest.MonkeyPatch, user: dict | None) -> AppTest:
    """The real app with sign-in configured, seen by `user` (None = anonymous)."""
    monkeypatch.setenv("SENTINEL_WORKSPACE", str(ws.root))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": False} if user is None else {"is_logged_in": True, **user}
    at.run()
    assert not at.exception, at.exception
    return at


def _as(actor: Actor) -> dict[str, str]:
    """The identity claims an OIDC provider would give for this actor."""
    return {"sub": actor.subject, "email": actor.name, "name": actor.name}


def test_anonymous_visitor_sees_only_the_sign_in(ws, monkeypatch) -> None:
    """No data, no reservoir picker: the product name, why sign-in is needed, the button."""
    at = _app(ws, monkeypatch, None)
    assert [b.label for b in at.button] == ["Sign in"]
    assert SAMPLE_NAME not in texts(at) and not at.selectbox


def test_unknown_user_is_asked_to_see_an_administrator(ws, monkeypatch) -> None:
    """Signed in but without a role: told what to send an administrator, and shown no data."""
    at = _app(ws, monkeypatch, {"sub": "sub-stranger", "email": "sam@utility.example"})
    shown = texts(at)
    assert "Ask an administrator" in shown and SAMPLE_NAME not in shown
    assert "users --add sub-stranger --role viewer" in at.code[0].value
    assert not at.selectbox


def test_viewer_sees_data_but_no_write_controls(ws, monkeypatch) -> None:
    """A viewer reads the levels but gets no editor buttons, and the Models page offers no activate or delete."""
    at = _app(ws, monkeypatch, _as(VIEWER))
    assert "Signed in as" in texts(at, ("caption",)) and "viewer" in texts(at, ("caption",))
    at.switch_page("pages/levels.py").run()
    labels = {b.label for b in at.button}
    assert "Save levels" not in labels and "Save trigger" not in labels
    assert "needs the operator role" in texts(at, ("caption",))
    at.switch_page("pages/models.py").run()
    assert not any(b.label.startswith(("Activate version", "Delete version")) for b in at.button)


def test_operator_gets_the_controls_but_not_the_admin_page(ws, monkeypatch) -> None:
    """An operator can save levels and activate; the users page is for administrators only."""
    at = _app(ws, monkeypatch, _as(OPERATOR))
    at.switch_page("pages/levels.py").run()
    assert "Save levels" in {b.label for b in at.button}
    with pytest.raises(ValueError, match="navigation page"):  # not in an operator's navigation at all
        at.switch_page("pages/admin.py")


def test_admin_adds_a_user_on_the_admin_page(ws, monkeypatch) -> None:
    """The admin page lists users and adds one; the activity log records who added them."""
    at = _app(ws, monkeypatch, _as(ADMIN))
    at.switch_page("pages/admin.py").run()
    assert not at.exception, at.exception
    at.text_input(key="admin_subject").input("sub-newcomer")
    at.selectbox(key="admin_role").select("operator")
    at.button[0].click().run()  # the form's submit button
    assert ws.actor_for("sub-newcomer").role is Role.operator
    assert ws.activity(limit=1)[0].name == ADMIN.name


def test_without_auth_the_sidebar_says_no_sign_in(trained_sample, monkeypatch) -> None:
    """No [auth] section: a local tool for the local user, and the sidebar says so."""
    monkeypatch.setenv("SENTINEL_WORKSPACE", str(trained_sample[0].root))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert "No sign-in is configured" in texts(at, ("caption",))
