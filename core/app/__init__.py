"""The application layer: user actions shared by CLI and pages, background jobs, the CLI."""
