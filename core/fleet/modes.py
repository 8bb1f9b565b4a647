"""The cycle's choices by name, in a leaf (no pandas, no TensorFlow) so `python -m core --help` stays instant."""

from __future__ import annotations

RETRAIN_MODES = ("none", "due", "all")  # what --retrain accepts (the rule: core.fleet.due)
ENGINES = ("local", "ray", "serial")  # what --engine accepts (the runners: core.fleet.engines)
