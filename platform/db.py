"""Engines, sessions and the tenant context every transaction carries.

Two walls keep townships apart:

* PostgreSQL row-level security. Each transaction begins with
  `set_config('app.township_id', …, true)` from the session's `TenantContext` (see
  `_set_township_for_transaction`); `true` makes it transaction-local, so a pooled connection
  never carries one request's township into the next. The app connects as a role that owns no
  table; the policies (`baoxue.platform.rls`) hide every other township's rows.
* The service-layer scope (`baoxue.platform.scoping`), which also filters by township, so the
  embedded SQLite default keeps townships apart too, and narrows a township to the actor's
  school, village or department.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger, DateTime, Engine, ForeignKey, ForeignKeyConstraint, Integer, MetaData, create_engine, event, text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, declared_attr, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from baoxue.platform.settings import Settings, get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

BigId = BigInteger().with_variant(Integer, "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always returns an aware datetime, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use baoxue.platform.clock")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), int: BigId}


class TownshipOwned:
    """Mixin for every tenant-owned table: the township is the wall and the distribution key.

    Its migration creates it with `baoxue.platform.rls.create_township_table`: primary key
    (township_id, id) on PostgreSQL, composite foreign keys to other township tables, forced
    row-level security. Its concept's `policy.py` says what each scope may read and write;
    a query on a township-owned model without a policy raises (`baoxue.platform.scoping`).
    """

    @declared_attr
    def township_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("townships.id", ondelete="RESTRICT"), index=True)


def township_fk(column: str, table: str) -> ForeignKeyConstraint:
    """(township_id, <column>) -> <table>(township_id, id): a row can point only into its own township."""
    return ForeignKeyConstraint(["township_id", column], [f"{table}.township_id", f"{table}.id"])


@dataclass(frozen=True)
class TenantContext:
    """Who a transaction works for: the scope (which holds the township), the person, request facts."""

    scope: Any = None  # baoxue.platform.scoping.Scope; Any avoids an import cycle
    user_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Only while signing in: the one users row the database lets an anonymous login read.
    login_username: str = ""
    # A county viewer's county: the published figures of its townships, nothing of any township.
    county_id: int | None = None

    @property
    def township_id(self) -> int | None:
        return self.scope.township_id if self.scope is not None else None


def tenant_of(session: Session) -> TenantContext:
    return session.info.get("tenant") or TenantContext()


def township_id_of(session: Session) -> int:
    """The township a session works for; an action that needs one and has none is a bug."""
    township_id = tenant_of(session).township_id
    if township_id is None:
        raise RuntimeError("this needs a township in the session's context")
    return township_id


def set_tenant(session: Session, context: TenantContext) -> None:
    """Change who the session works for, in the current transaction too (no commit needed).

    The scope listener reads the context on every query; the database's settings are made
    when a transaction begins and re-made here if one is open, so the two never disagree.
    """
    session.info["tenant"] = context
    if session.in_transaction():
        _apply_settings(session, session.connection())


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"future": True}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if parsed.database:
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    else:
        kwargs.update(pool_pre_ping=True, pool_size=5, max_overflow=10)
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def app_engine(settings: Settings | None = None) -> Engine:
    return engine_for((settings or get_settings()).effective_database_url)


def admin_engine(settings: Settings | None = None) -> Engine:
    return engine_for((settings or get_settings()).migration_database_url)


_session_factories: dict[int, sessionmaker[Session]] = {}


def session_factory(engine: Engine) -> sessionmaker[Session]:
    key = id(engine)
    if key not in _session_factories:
        _session_factories[key] = sessionmaker(engine, expire_on_commit=False, autoflush=True)
    return _session_factories[key]


def new_session(context: TenantContext, settings: Settings | None = None) -> Session:
    session = session_factory(app_engine(settings))()
    session.info["tenant"] = context
    return session


@contextmanager
def unit_of_work(session: Session) -> Iterator[Session]:
    """Commit when the block ends, roll back if it raises; close either way."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def tenant_session(context: TenantContext, settings: Settings | None = None) -> Iterator[Session]:
    """A unit of work for a job or a command: commits on success, rolls back on error."""
    with unit_of_work(new_session(context, settings)) as session:
        yield session


@contextmanager
def cross_township_session(reason: str, settings: Settings | None = None) -> Iterator[Session]:
    """The one escape over the township wall, for deliberate cross-township work.

    It connects with BAOXUE_DATABASE_ADMIN_URL, which must be a superuser or a BYPASSRLS role
    (FORCE ROW LEVEL SECURITY binds a plain table owner too), and turns the service-layer scope
    off. Callers name their reason; the ones that
    act for a person write an audit row. Used by: the demo seed, creating a township.
    """
    if not reason:
        raise ValueError("cross_township_session needs a reason")
    session = session_factory(admin_engine(settings))()
    session.info["tenant"] = TenantContext()
    session.info["unscoped_reason"] = reason
    with unit_of_work(session):
        yield session


def narrow_to_township(session: Session, context: TenantContext) -> None:
    """Inside a cross-township session, act for one township from here on (same transaction).

    The service-layer scope applies again, so the usual do_* actions read and write only that
    township; row-level security does not bind the owner's connection, the scope does.
    """
    session.flush()
    session.info.pop("unscoped_reason", None)
    set_tenant(session, context)


@event.listens_for(Session, "after_begin")
def _set_township_for_transaction(session: Session, _transaction: Any, connection: Any) -> None:
    _apply_settings(session, connection)


def _apply_settings(session: Session, connection: Any) -> None:
    if connection.dialect.name != "postgresql" or session.info.get("unscoped_reason"):
        return
    context = tenant_of(session)
    connection.execute(
        text("select set_config('app.township_id', :township, true), set_config('app.user_id', :user, true),"
             " set_config('app.login_username', :login, true), set_config('app.county_id', :county, true)"),
        {
            "township": "" if context.township_id is None else str(context.township_id),
            "user": "" if context.user_id is None else str(context.user_id),
            "login": context.login_username,
            "county": "" if context.county_id is None else str(context.county_id),
        },
    )


def database_is_up(settings: Settings | None = None) -> tuple[bool, str]:
    try:
        with app_engine(settings).connect() as connection:
            connection.execute(text("select 1"))
        return True, "ok"
    except Exception as exc:  # noqa: BLE001 - health reports any failure as "down"
        return False, type(exc).__name__
