"""Dashboard pages (listed explicitly in app.py), their shared helpers (common.py) and the Train page's parts."""
