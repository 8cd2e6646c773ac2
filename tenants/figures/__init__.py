"""Figures and the dashboard."""

from baoxue.tenants.figures.routes import routes

__all__ = ["routes"]
