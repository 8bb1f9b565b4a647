"""Names people give things (reservoirs, stations, units from header brackets) are text to show, never control
sequences: the one rule for what such a name may hold.

A reservoir name travels into e-mail headers, terminal output, chart titles and file names. A carriage return or
line feed splits an e-mail header (every alert of that reservoir then fails to send) and a cycle's output line; an
ESC starts a terminal colour code; a right-to-left override makes a name read differently from what it holds.
So surrounding spaces are stripped, and control characters, bidi controls and line/paragraph separators are refused
with a message naming the character and where it is; a name is at most MAX_LENGTH characters.
"""

from __future__ import annotations

import unicodedata

MAX_LENGTH = 120  # characters: longer than any reservoir or station name, short enough for a chart title

# Bidirectional formatting characters (Unicode's "bidi controls"): embeddings, overrides, isolates and marks.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_NAMES = {"\r": "carriage return", "\n": "line feed", "\t": "tab", "\x00": "NUL", "\x1b": "ESC (escape)"}


class BadName(ValueError):
    """A name holds a character it may not, or is too long or empty; the message says which and where."""


def _describe(ch: str) -> str:
    """'line feed (U+000A)' / 'RIGHT-TO-LEFT OVERRIDE (U+202E)': a character named so the reader can find it."""
    label = _NAMES.get(ch) or unicodedata.name(ch, "").lower() or "control character"
    return f"{label} (U+{ord(ch):04X})"


def _forbidden(ch: str) -> bool:
    """Control characters (C0, DEL, C1), bidi controls and line/paragraph separators."""
    return unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in BIDI_CONTROLS


def name_problem(text: str, what: str) -> str | None:
    """Why `text` cannot be used as `what` ('Reservoir name', 'Unit of column X'), or None when it can."""
    stripped = text.strip()
    if not stripped:
        return f"{what} is empty; give it a name."
    bad = [(i, ch) for i, ch in enumerate(stripped) if _forbidden(ch)]
    if bad:
        position, ch = bad[0]
        more = f" (and {len(bad) - 1} more such character{'s' if len(bad) > 2 else ''})" if len(bad) > 1 else ""
        return (
            f"{what} {shown(stripped)} holds a forbidden character, {_describe(ch)}, at character {position + 1}"
            f"{more}. Names are plain text: remove control, line-break and right-to-left override characters and try "
            "again."
        )
    if len(stripped) > MAX_LENGTH:
        return (
            f"{what} is {len(stripped):,} characters long (it starts {shown(stripped[:40])}); at most {MAX_LENGTH} "
            "are allowed. Shorten it."
        )
    return None


def clean_name(text: str, what: str) -> str:
    """The name with surrounding spaces stripped; BadName when it holds what a name may not."""
    problem = name_problem(str(text), what)
    if problem:
        raise BadName(problem)
    return str(text).strip()


def shown(text: str, limit: int = 60) -> str:
    """A name quoted for a message with every forbidden character written as its code, so the message is safe."""
    safe = "".join(f"<U+{ord(c):04X}>" if _forbidden(c) else c for c in text[:limit])
    return f"'{safe}{'...' if len(text) > limit else ''}'"
