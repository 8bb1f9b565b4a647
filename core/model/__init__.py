"""Configs, preprocessing, splits, windows, the zoo (architectures + members), training, evaluation, uncertainty."""
