"""Tenancy: townships, villages, schools, classes, departments, people and memberships."""

from baoxue.tenants.tenancy.routes import routes

__all__ = ["routes"]
