"""Reservoir Sentinel pipeline: CSV -> validated frame -> clean daily frame -> windows -> model -> forecast.

Kept free of streamlit and of eager TensorFlow imports so the CLI starts fast.
"""

__version__ = "0.1.0"
