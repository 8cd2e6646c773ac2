"""Tenancy: townships, villages, schools, classes, departments, people and memberships."""

routes: list = []
try:  # the admin routes are being written; the shell iterates over whatever is exported
    from baoxue.tenants.tenancy.routes import routes  # noqa: F811
except ImportError:  # pragma: no cover
    pass
