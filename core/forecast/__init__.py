"""Issuing forecasts and the risk of crossing operating levels."""
