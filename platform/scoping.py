"""The one scoping mechanism inside a township (and, on SQLite, between townships).

A `Scope` says which part of a township an actor works in: the whole township, one school
(narrowed to some classes for teachers), one village, or one department. It is the only holder
of the township a session works for.

Every model that holds township data has one `Policy` (in its concept's `policy.py`) saying
what a scope may *read* and what it may *write*, as SQL criteria on the model's columns.
From those two declarations:

* reads: one `do_orm_execute` listener adds the read criteria of every policy to every ORM
  query (joins, aliases and subqueries included), plus the township on every `TownshipOwned`
  model; bulk `update()`/`delete()` and queries run with `for_write(...)` get the write criteria;
* writes: after each flush, the rows inserted or updated are selected again under the write
  criteria, and rows about to be deleted before it; a row outside the writer's scope raises
  `ScopeViolation` and the transaction rolls back (the application's own `WITH CHECK`).

It fails closed: a query on township data with no scope raises `ScopeMissing`; a
`TownshipOwned` model with no policy raises `PolicyMissing`. The escapes are named: a
`cross_township_session` (the owner's connection, audited by its callers) and
`own_rows(user_id)`, which reads only the rows a person may see about themselves in any
township (their memberships, to choose one), through each policy's `own` criteria; and, inside
an action that has already authorized its actor, `consequences(session)`, which writes what
that decision entails in the whole township (see there), and `township_facts(session)`, which
reads the township's facts for a count or an answer the caller narrows to the actor.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, event, false, select
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from baoxue.platform.db import TownshipOwned, set_tenant, tenant_of
from baoxue.platform.permissions import UnitKind


class ScopeMissing(RuntimeError):
    """A query reached tenant data with no scope set: a programming error, never a user's."""


class PolicyMissing(RuntimeError):
    """A township-owned model has no policy: every such model must say who reads and writes it."""


class ScopeViolation(RuntimeError):
    """A write outside the writer's scope. Answered as "not found": it is not theirs."""


@dataclass(frozen=True)
class Scope:
    township_id: int
    unit_kind: UnitKind = UnitKind.TOWNSHIP
    unit_id: int | None = None
    # None: the whole unit. A set: a teacher's own classes (possibly none: then no students).
    class_ids: frozenset[int] | None = None
    duty: str = ""  # a department's DutyCode
    # The person's own membership (a request's); None for the township's own work (a job, an
    # action's `consequences`). What is one person's alone (their notifications) reads by it.
    membership_id: int | None = None

    @classmethod
    def township(cls, township_id: int) -> Scope:
        """The whole township: its leading group, office, administrators, jobs."""
        return cls(township_id=township_id)

    @property
    def whole_township(self) -> bool:
        return self.unit_kind == UnitKind.TOWNSHIP

    def is_school(self, school_id: int | None = None) -> bool:
        return self.unit_kind == UnitKind.SCHOOL and (school_id is None or self.unit_id == school_id)

    @property
    def school_id(self) -> int | None:
        return self.unit_id if self.unit_kind == UnitKind.SCHOOL else None

    @property
    def village_id(self) -> int | None:
        return self.unit_id if self.unit_kind == UnitKind.VILLAGE else None

    @property
    def department_id(self) -> int | None:
        return self.unit_id if self.unit_kind == UnitKind.DEPARTMENT else None


# A lambda of the entity, `lambda c: c.school_id == unit_id`, or None (no narrowing inside the
# township). A lambda, so that SQLAlchemy applies it to aliases and joined entities too; each
# policy writes its own, closing over plain values only, so the statement cache keys on the
# lambda's code and binds the values as parameters.
Criteria = Callable[[Any], ColumnElement[bool]] | None


def nothing() -> Criteria:
    return _NOTHING


def _no_rows(_entity: Any) -> ColumnElement[bool]:
    return false()


_NOTHING: Criteria = _no_rows


class Policy:
    """What a scope may read and write of one model. One subclass per model, in `policy.py`:

        class StudentPolicy(Policy, model=Student):
            def read(self, scope):   # criteria (a lambda of the entity), or None for all
                school_id = scope.unit_id
                return lambda c: c.school_id == school_id
            def write(self, scope): ...  # defaults to read
    """

    model: ClassVar[type]
    registry: ClassVar[dict[type, Policy]] = {}

    def __init_subclass__(cls, model: type | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if model is not None:
            if model in Policy.registry:
                raise TypeError(f"{model.__name__} already has a policy")
            cls.model = model
            Policy.registry[model] = cls()

    def read(self, scope: Scope) -> Criteria:
        raise NotImplementedError

    def write(self, scope: Scope) -> Criteria:
        return self.read(scope)

    def own(self, user_id: int) -> Criteria | type[NotImplemented]:
        """Rows a person may read about themselves in any township; NotImplemented: none."""
        return NotImplemented


def within_school(scope: Scope, *, school: Callable[[int], Criteria],
                  classes: Callable[[tuple[int, ...]], Criteria]) -> Criteria:
    """The common shape of what a school holds: the township sees all of it, a school its own (a
    teacher: the classes they teach), any other unit nothing. The caller gives the criteria of
    its own model for a school id and for class ids (lambdas of its own, see `Criteria`)."""
    if scope.whole_township:
        return None
    if scope.unit_kind != UnitKind.SCHOOL or scope.unit_id is None:
        return nothing()
    if scope.class_ids is not None:
        return classes(tuple(scope.class_ids))
    return school(scope.unit_id)


class TownshipStructure(Policy):
    """Read by everyone in the township (names of villages, schools...); written by the township."""

    def read(self, scope: Scope) -> Criteria:
        return None

    def write(self, scope: Scope) -> Criteria:
        return None if scope.whole_township else nothing()


class TownshipWide(Policy):
    """Read and written by anyone in the township (job records: no unit, nothing personal)."""

    def read(self, scope: Scope) -> Criteria:
        return None


_all_loaded = False


def policy_of(model: type) -> Policy | None:
    global _all_loaded
    if model not in Policy.registry and not _all_loaded:
        # A process that imported one concept's models (a worker, a command) has not imported
        # every policy yet; load them all once rather than fail a query that has one.
        from baoxue.platform.concepts import import_all_models

        import_all_models()
        _all_loaded = True
    return Policy.registry.get(model)


def scope_of(session: Session) -> Scope | None:
    return tenant_of(session).scope


# --- execution options ---------------------------------------------------------------------------

WRITE_MODE = {"scope_mode": "write"}


def for_write(statement: Any) -> Any:
    """A select that sees only rows the scope may write (what `access(..., for_write=True)` uses)."""
    return statement.execution_options(**WRITE_MODE)


def own_rows(statement: Any, user_id: int) -> Any:
    """The narrow self-read: only models whose policy defines `own`, narrowed to this person."""
    return statement.execution_options(own_rows_of=user_id)


# --- reads -----------------------------------------------------------------------------------------

@event.listens_for(Session, "do_orm_execute")
def _apply_scope(state: ORMExecuteState) -> None:
    if state.session.info.get("unscoped_reason"):
        return  # cross_township_session: the owner's deliberate, named work
    if state.is_insert:
        _refuse_bulk_insert(state)
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return  # attributes of rows already in scope: the original query was filtered
    own = state.execution_options.get("own_rows_of")
    if own is not None:
        state.statement = state.statement.options(*_own_options(state, int(own)))
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
    writing = state.is_update or state.is_delete or state.execution_options.get("scope_mode") == "write"
    state.statement = state.statement.options(*_scope_options(state, scope, writing=writing))


def _scope_options(state: ORMExecuteState, scope: Scope, *, writing: bool) -> list[Any]:
    for mapper in state.all_mappers:
        if issubclass(mapper.class_, TownshipOwned) and policy_of(mapper.class_) is None:
            raise PolicyMissing(f"{mapper.class_.__name__} has no policy")
    township_id = scope.township_id
    options: list[Any] = [
        # A lambda: it applies to every TownshipOwned class, each with its own column.
        with_loader_criteria(TownshipOwned, lambda cls: cls.township_id == township_id, include_aliases=True)
    ]
    for model, policy in Policy.registry.items():
        criteria = policy.write(scope) if writing else policy.read(scope)
        if criteria is not None:
            options.append(with_loader_criteria(model, criteria, include_aliases=True))
    return options


def _own_options(state: ORMExecuteState, user_id: int) -> list[Any]:
    options = []
    allowed = set()
    for model, policy in Policy.registry.items():
        criteria = policy.own(user_id)
        if criteria is not NotImplemented:
            allowed.add(model)
            if criteria is not None:
                options.append(with_loader_criteria(model, criteria, include_aliases=True))
    for mapper in state.all_mappers:
        if mapper.class_ not in allowed:
            raise ScopeMissing(f"own_rows() cannot read {mapper.class_.__name__}")
    return options


def _refuse_bulk_insert(state: ORMExecuteState) -> None:
    for mapper in state.all_mappers:
        if issubclass(mapper.class_, TownshipOwned):
            raise ScopeViolation(f"bulk insert into {mapper.class_.__name__} bypasses the write check; "
                                 "add objects to the session (or, for a job's many rows, platform.bulk.insert_rows)")


# --- writes ----------------------------------------------------------------------------------------

@event.listens_for(Session, "before_flush")
def _check_township_and_deletes(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get("unscoped_reason"):
        return
    scope = scope_of(session)
    for obj in (*session.new, *session.dirty):
        # Another township's id is refused before the database sees it (on SQLite nothing else would).
        if isinstance(obj, TownshipOwned) and (scope is None or obj.township_id != scope.township_id):
            raise ScopeViolation(f"{type(obj).__name__} of township {obj.township_id} written "
                                 f"from {scope.township_id if scope else 'no'} township")
    _check_in_write_scope(session, (obj for obj in session.deleted if isinstance(obj, TownshipOwned)), "delete")


@event.listens_for(Session, "after_flush")
def _check_inserts_and_updates(session: Session, _context: Any) -> None:
    if session.info.get("unscoped_reason"):
        return
    written = [obj for obj in session.new if isinstance(obj, TownshipOwned)]
    written += [obj for obj in session.dirty
                if isinstance(obj, TownshipOwned) and session.is_modified(obj, include_collections=False)]
    _check_in_write_scope(session, written, "write")


CHECK_CHUNK = 10_000  # ids per query of the write check (PostgreSQL takes at most 65,535 parameters)


def _check_in_write_scope(session: Session, objects: Iterable[Any], verb: str) -> None:
    """Select the rows again under the write criteria: one query per model, none if nothing changed."""
    by_model: dict[type, set[int]] = defaultdict(set)
    for obj in objects:
        by_model[type(obj)].add(obj.id)
    if not by_model:
        return
    if scope_of(session) is None:
        raise ScopeMissing(f"{verb} of {next(iter(by_model)).__name__} with no scope set")
    with session.no_autoflush:
        for model, ids in by_model.items():
            ordered = sorted(ids)
            seen: set[int] = set()
            for start in range(0, len(ordered), CHECK_CHUNK):  # a database takes so many parameters
                chunk = ordered[start:start + CHECK_CHUNK]
                seen.update(session.scalars(for_write(select(model.id).where(model.id.in_(chunk)))))  # type: ignore[attr-defined]
            if seen != ids:
                raise ScopeViolation(f"{verb} of {model.__name__} {sorted(ids - seen)[:20]} outside the writer's scope")


@contextmanager
def consequences(session: Session) -> Iterator[None]:
    """Inside a `do_*` action, write what a decision entails under the whole township's scope.

    The action has already fetched its record through `access_*` and checked that the actor may
    take this decision; what the decision does may rightly reach beyond the actor's own rows:
    the central school files a transfer between two other schools (the child's record changes),
    the receiving school's confirmation closes the central school's worklist item. Only the
    block runs widened, inside the township (the row-level wall is untouched), and the scope is
    restored even when it raises. Never wrap reads that decide *whether* the actor may act.
    """
    with _whole_township(session, "consequences()"):
        yield
        session.flush()


@contextmanager
def township_facts(session: Session) -> Iterator[None]:
    """Read facts of the whole township that the caller then reduces to what the actor may know:
    a count narrowed to the reader's grains (the figures), or one answer about a row the actor
    holds ("this child is already listed by 某村", never the other village's list). The block
    must not hand rows it read to the actor; it writes nothing (it is not `consequences`)."""
    with _whole_township(session, "township_facts()"):
        yield


@contextmanager
def _whole_township(session: Session, name: str) -> Iterator[None]:
    context = tenant_of(session)
    if context.scope is None:
        raise ScopeMissing(f"{name} needs a scoped session")
    session.flush()
    set_tenant(session, dataclasses.replace(context, scope=Scope.township(context.scope.township_id)))
    try:
        yield
    finally:
        set_tenant(session, context)
