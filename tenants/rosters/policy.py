"""Whose roster: `access_roster_school`. Rosters have no table of their own (they write `students`).

A roster is the whole roll of one school, so it belongs to whoever writes that school's
students as a whole: the school itself (its principal, its academic office) and the township
level. A class-bound teacher writes no roster (they hold a few classes, not the roll), a
village or a department none at all; for them, and for another township's school, the school
is "not found", like every other thing outside one's scope.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from baoxue.platform.access import access
from baoxue.platform.db import tenant_of
from baoxue.platform.errors import not_found
from baoxue.tenants.tenancy.models import School


def access_roster_school(session: Session, school_id: int) -> School:
    """The school whose roster the session's scope may read and write, or the one 404."""
    scope = tenant_of(session).scope
    if scope is None or not (scope.whole_township or (scope.is_school(school_id) and scope.class_ids is None)):
        raise not_found()
    return access(session, School, school_id)
