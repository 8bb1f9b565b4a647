"""Configs, preprocessing, splits, windows, architectures, the zoo, training, evaluation, uncertainty."""
