"""The "Bulletin (PDF)" download button of the Forecast and Overview pages. Thin: the bulletin is
core.app.bulletin (the same as `python -m core bulletin`); the PDF is made only when the button is clicked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from core.app.bulletin import bulletin_filename, bulletin_pdf, made_now
from core.export.files import ExportError, find_chromium
from pages import common as ui

HELP = (
    "A PDF to send as it is: per reservoir the latest forecast of its active model with bands and operating "
    "levels, the alert per side in words, the chance of crossing each level per day, and where the forecast "
    "comes from (data through, model version, recent band coverage, skill). Made when you click (a few "
    "seconds). CLI: python -m core bulletin {who} --out bulletin.pdf"
)


def bulletin_button(reservoirs: Sequence[str] | None, key: str, where: Any = st) -> None:
    """A download button for the bulletin of some reservoirs (None: all, with a summary page first)."""
    who = "--all" if reservoirs is None else f'--reservoir "{reservoirs[0]}"'
    try:
        find_chromium()
    except ExportError as exc:
        where.button("Bulletin (PDF)", key=key, disabled=True, icon=":material/picture_as_pdf:", help=str(exc))
        where.caption(ui.md_escape(f"The bulletin needs Chromium: {exc}"))
        return
    names = None if reservoirs is None else list(reservoirs)
    ws = ui.workspace()
    where.download_button(
        "Bulletin (PDF)",
        data=lambda: bulletin_pdf(ws, names),
        file_name=bulletin_filename(names, made_now()),
        mime="application/pdf",
        key=key,
        icon=":material/picture_as_pdf:",
        help=HELP.format(who=who),
        on_click="ignore",
    )


if __name__ == "__main__":  # run on its own (Streamlit's pages/ discovery): the app, never this section alone
    ui.run_page()
