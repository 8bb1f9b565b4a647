"""The SQLite workspace and the model versions on disk."""
