"""What the CLI's command modules share: the hook types and a sub-parser for a per-reservoir command.

A leaf (argparse only), so command modules can live beside core.cli.main without importing it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

Emit = Callable[[argparse.Namespace, Any, Any], None]  # (args, JSON payload, text lines) -> printed
WorkspaceOf = Callable[[argparse.Namespace], Any]  # args -> the Workspace they name


def reservoir_command(
    sub: Any, common: argparse.ArgumentParser, name: str, help: str, description: str
) -> argparse.ArgumentParser:
    """A sub-command with the shared options and the required --reservoir."""
    p = sub.add_parser(name, parents=[common], help=help, description=description)
    p.add_argument("--reservoir", required=True)
    return p
