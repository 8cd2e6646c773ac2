"""The one scoping mechanism inside a township (and, on SQLite, between townships).

A `Scope` says which part of a township an actor works in. One `do_orm_execute` listener
adds criteria to every ORM query:

* every `TownshipOwned` model is filtered to the scope's township (on PostgreSQL the
  row-level-security policy says the same; here it also protects the SQLite default);
* every model with a `__scope__` classmethod is narrowed by it (a school's students, a
  village's residents, ...). `__scope__(scope)` returns None (no narrowing) or a lambda of the
  entity, `lambda c: c.school_id == unit_id`: a lambda so that aliases get the criteria adapted
  to them, closing over plain ints only so that SQLAlchemy caches it with bound parameters.

It fails closed: a session with no scope raises `ScopeMissing` when it queries a
township-owned model at the top level, and sees no rows of one reached through a join.
Only `cross_township_session` (named, audited) turns it off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from baoxue.platform.db import TownshipOwned, tenant_of


class ScopeMissing(RuntimeError):
    """A query reached tenant data with no scope set: a programming error, never a user's."""


@dataclass(frozen=True)
class Scope:
    township_id: int
    unit_kind: str = "township"  # township | school | village | department
    unit_id: int | None = None

    @classmethod
    def township(cls, township_id: int) -> Scope:
        """The whole township: its leading group, office, administrators, jobs."""
        return cls(township_id=township_id)

    @property
    def whole_township(self) -> bool:
        return self.unit_kind == "township"

    def is_school(self, school_id: int | None = None) -> bool:
        return self.unit_kind == "school" and (school_id is None or self.unit_id == school_id)


def scope_of(session: Session) -> Scope | None:
    return tenant_of(session).scope


_scoped_cache: tuple[int, list[type]] = (-1, [])


def _scoped_models() -> list[type]:
    """Models with `__scope__`, recomputed only when a model has been added since."""
    global _scoped_cache
    from baoxue.platform.db import Base

    mappers = Base.registry.mappers
    if _scoped_cache[0] != len(mappers):
        _scoped_cache = (len(mappers), [m.class_ for m in mappers if hasattr(m.class_, "__scope__")])
    return _scoped_cache[1]


@event.listens_for(Session, "do_orm_execute")
def _apply_scope(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.session.info.get("unscoped_reason") or state.execution_options.get("own_memberships"):
        # The named escapes: cross_township_session, and identity reading a person's own
        # memberships (PostgreSQL's policy still limits that to the person's rows).
        return
    if state.is_column_load or state.is_relationship_load:
        # Loads of attributes of rows already in scope: the original query was filtered.
        return
    scope = scope_of(state.session)
    if scope is None:
        touched = [m for m in state.all_mappers if issubclass(m.class_, TownshipOwned)]
        if touched:
            raise ScopeMissing(f"query on {touched[0].class_.__name__} with no scope set")
        state.statement = state.statement.options(
            with_loader_criteria(TownshipOwned, lambda cls: cls.township_id < 0, include_aliases=True)
        )
        return
    township_id = scope.township_id
    options: list[Any] = [
        with_loader_criteria(
            TownshipOwned, lambda cls: cls.township_id == township_id, include_aliases=True
        )
    ]
    for model in _scoped_models():
        criteria = model.__scope__(scope)
        if criteria is not None:
            options.append(with_loader_criteria(model, criteria, include_aliases=True))
    state.statement = state.statement.options(*options)
