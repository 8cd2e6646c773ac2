"""Running Alembic from code (the CLI and the tests) and preparing the runtime login role."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import make_url

from baoxue.platform.db import admin_engine
from baoxue.platform.rls import APP_ROLE
from baoxue.platform.settings import PROJECT_ROOT, Settings, get_settings


def alembic_config(settings: Settings | None = None) -> Config:
    config = Config(str(PROJECT_ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["url"] = (settings or get_settings()).migration_database_url
    return config


def upgrade(revision: str = "head", settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    command.upgrade(alembic_config(settings), revision)
    ensure_runtime_login(settings)


def downgrade(revision: str, settings: Settings | None = None) -> None:
    command.downgrade(alembic_config(settings), revision)


def head_revision() -> str:
    """The newest revision the code carries."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(settings: Settings | None = None) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with admin_engine(settings).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def ensure_runtime_login(settings: Settings) -> None:
    """Make the app's login role a member of `baoxue_app`, creating it when it is missing.

    Only on PostgreSQL and only when the app connects as someone other than the owner: the
    wall holds only for a role that owns no table and cannot bypass row-level security.
    """
    if not (settings.is_postgresql and settings.database_admin_url):
        return
    runtime = make_url(settings.effective_database_url)
    owner = make_url(settings.migration_database_url)
    if not runtime.username or runtime.username == owner.username:
        return
    name = runtime.username.replace('"', "")
    with admin_engine(settings).begin() as connection:
        exists = connection.execute(text("select 1 from pg_roles where rolname = :n"), {"n": name}).first()
        if not exists:
            connection.execute(text(f'CREATE ROLE "{name}" LOGIN NOSUPERUSER NOBYPASSRLS'))
            if runtime.password:
                connection.execute(text(f"ALTER ROLE \"{name}\" PASSWORD '{runtime.password.replace(chr(39), '')}'"))
        connection.execute(text(f'GRANT {APP_ROLE} TO "{name}"'))
