"""Entry point for `python -m core`."""

import os
import sys

from core.cli.main import main

SIGPIPE_STATUS = 141  # 128 + SIGPIPE: what a Unix tool whose reader went away exits with


def _run() -> int:
    """Run the CLI; when the reader of our output leaves (`... | head`), end quietly as Unix tools do."""
    try:
        code = main()
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # Python's recommended handling: point stdout at devnull so the interpreter's final flush stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return SIGPIPE_STATUS


sys.exit(_run())
