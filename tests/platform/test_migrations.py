"""Migrations up and down on a fresh database of the run's backend, and the security they write."""

import os
import secrets
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text

from baoxue.platform import migrate
from baoxue.platform.db import engine_for
from baoxue.platform.rls import APP_ROLE
from tests.conftest import BACKEND, PG_HOST, _admin_connect

def expected_tables() -> set[str]:
    """Every table the models of the shell and of every registered concept declare."""
    from baoxue.platform.concepts import import_all_models
    from baoxue.platform.db import Base

    import_all_models()
    return set(Base.metadata.tables)


@pytest.fixture
def fresh_settings(settings: Any, tmp_path: Path) -> Iterator[Any]:
    if BACKEND == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        yield replace(settings, database_url=url, database_admin_url="")
        return
    name = f"baoxue_mig_{os.getpid()}_{secrets.token_hex(3)}"
    with _admin_connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield replace(settings, database_url=f"postgresql+psycopg://baoxue_test_web@{PG_HOST}/{name}",
                  database_admin_url=f"postgresql+psycopg://postgres@{PG_HOST}/{name}")
    engine_for(f"postgresql+psycopg://postgres@{PG_HOST}/{name}").dispose()
    engine_for(f"postgresql+psycopg://baoxue_test_web@{PG_HOST}/{name}").dispose()
    with _admin_connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _tables(settings: Any) -> set[str]:
    return set(inspect(engine_for(settings.migration_database_url)).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade(fresh_settings: Any) -> None:
    migrate.upgrade(settings=fresh_settings)
    assert _tables(fresh_settings) == expected_tables()
    assert migrate.current_revision(fresh_settings) == migrate.head_revision()
    migrate.downgrade("base", settings=fresh_settings)
    assert _tables(fresh_settings) == set()
    migrate.upgrade(settings=fresh_settings)
    assert _tables(fresh_settings) == expected_tables()


@pytest.mark.postgres_only
def test_every_table_with_township_id_has_forced_rls_and_policies(migrated: Any) -> None:
    with engine_for(migrated.migration_database_url).connect() as conn:
        rows = conn.execute(text("""
            select c.relname, c.relrowsecurity, c.relforcerowsecurity,
                   (select count(*) from pg_policies p where p.tablename = c.relname) as policies
            from pg_class c join information_schema.columns col
              on col.table_name = c.relname and col.column_name = 'township_id'
            where c.relkind = 'r' and c.relnamespace = 'public'::regnamespace""")).all()
    assert {r.relname for r in rows} >= {"villages", "students", "memberships", "audit_events"}
    for name, enabled, forced, policies in rows:
        assert enabled and forced, f"{name}: row-level security not enabled and forced"
        assert policies >= 1, f"{name}: no policy"


@pytest.mark.postgres_only
def test_the_runtime_role_owns_nothing_and_cannot_bypass(migrated: Any) -> None:
    with engine_for(migrated.effective_database_url).connect() as conn:
        me = conn.execute(text("select rolsuper, rolbypassrls from pg_roles where rolname = current_user")).one()
        owned = conn.execute(text(
            "select count(*) from pg_class where relowner = (select oid from pg_roles where rolname = current_user)"
        )).scalar()
        member = conn.execute(text("select pg_has_role(current_user, :r, 'member')"), {"r": APP_ROLE}).scalar()
    assert me == (False, False)
    assert owned == 0
    assert member
