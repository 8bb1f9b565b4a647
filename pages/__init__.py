"""Dashboard pages (listed explicitly in app.py) and their shared helpers in common.py."""
