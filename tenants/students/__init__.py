"""Students on the schools' rolls."""

from baoxue.tenants.students.routes import routes

__all__ = ["routes"]
