"""The training settings an operator last chose per reservoir, kept in the workspace.

Streamlit's session state is lost on a browser refresh, and the Train page's two tabs (one model, compare models)
share one form: storing the settings with the reservoir lets a refresh, the other tab or a second browser tab
start from them.
"""

from __future__ import annotations

from core.model.config import TrainConfig
from core.store.workspace import Workspace

SETTINGS_KEY = "train_settings"  # reservoir metadata key


def saved_settings(ws: Workspace, reservoir: str) -> TrainConfig | None:
    """The settings last saved for this reservoir; None when never saved or unreadable (an older app's shape)."""
    data = ws.get_meta(reservoir, SETTINGS_KEY)
    if not isinstance(data, dict):
        return None
    try:
        return TrainConfig.from_dict(data)
    except (TypeError, ValueError):
        return None


def save_settings(ws: Workspace, reservoir: str, config: TrainConfig) -> None:
    """Keep the form's settings (not yet checked: a half-typed form is worth keeping too)."""
    ws.set_meta(reservoir, SETTINGS_KEY, config.to_dict())
