"""Alembic environment: the only way a schema is made, in tests too.

Runs as the owner (BAOXUE_DATABASE_ADMIN_URL, else BAOXUE_DATABASE_URL). On PostgreSQL it
takes an advisory lock, so two deploys cannot migrate at once, and sets lock and statement
timeouts, so a migration waiting on a busy table fails instead of stalling the site.
"""

from alembic import context
from sqlalchemy import text

from baoxue.platform.db import Base, admin_engine, engine_for
from baoxue.platform.concepts import import_all_models

import_all_models()
target_metadata = Base.metadata
MIGRATION_LOCK = 7_240_611  # any constant; the same for every deploy of Baoxue


def run_migrations_online() -> None:
    url = context.config.attributes.get("url")
    engine = engine_for(url) if url else admin_engine()
    with engine.connect() as connection:
        _run(connection)


def _run(connection) -> None:
    postgresql = connection.dialect.name == "postgresql"
    if postgresql:
        connection.execute(text("SET lock_timeout = '10s'"))
        connection.execute(text("SET statement_timeout = '10min'"))
        connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
        connection.commit()
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if postgresql:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
            connection.commit()


run_migrations_online()
