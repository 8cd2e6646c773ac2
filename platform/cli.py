"""The `baoxue` command: db, demo, run, worker, scheduler."""

from __future__ import annotations

import sys

import click

from baoxue.platform.settings import ConfigurationError, get_settings


@click.group(help="保学 Baoxue: dropout-control platform for townships.")
def main() -> None:
    try:
        get_settings()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc


@main.group(help="Database schema (Alembic migrations).")
def db() -> None:
    pass


@db.command("upgrade", help="Migrate the database to the newest schema (or REVISION).")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    from baoxue.platform import migrate

    migrate.upgrade(revision)
    click.echo(f"database at {migrate.current_revision()}")


@db.command("downgrade", help="Migrate the database back to REVISION ('base' empties it).")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    from baoxue.platform import migrate

    migrate.downgrade(revision)
    click.echo(f"database at {migrate.current_revision()}")


@db.command("current", help="Print the database's schema revision.")
def db_current() -> None:
    from baoxue.platform import migrate

    click.echo(migrate.current_revision() or "empty")


@main.group(help="Demonstration data.")
def demo() -> None:
    pass


@demo.command("seed", help="Load two demo townships (idempotent: an existing demo is left as it is).")
def demo_seed() -> None:
    from baoxue.platform.demo import logins_text, seed_demo

    created = seed_demo()
    click.echo("demo data loaded" if created else "demo data already present")
    if created:
        from baoxue.workers.scheduler import run_due_now

        run_due_now()  # the dashboard opens with figures, not an empty table
    click.echo(logins_text())


def _refuse(errors: dict[str, str]) -> click.ClickException:
    return click.ClickException("\n".join(f"{field}: {message}" for field, message in errors.items()))


@main.group(help="Townships of this deployment (cross-township work, audited).")
def township() -> None:
    pass


@township.command("create", help="Create a township with its departments and first administrator.")
@click.argument("name")
@click.option("--code", required=True, help="A short unique code, e.g. GZ-QN-BD.")
@click.option("--county", default="", help="The county it belongs to.")
@click.option("--admin-username", required=True)
@click.option("--admin-name", required=True, help="The administrator's display name.")
@click.password_option("--admin-password", envvar="BAOXUE_NEW_ADMIN_PASSWORD",
                       help="Prompted for when not given (or set BAOXUE_NEW_ADMIN_PASSWORD).")
def township_create(name: str, code: str, county: str, admin_username: str, admin_name: str,
                    admin_password: str) -> None:
    from baoxue.platform.errors import InvalidInput
    from baoxue.tenants.tenancy.townships import do_create_township

    try:
        township_id = do_create_township(name=name, code=code, county=county, admin_username=admin_username,
                                         admin_name=admin_name, admin_password=admin_password)
    except InvalidInput as refused:
        raise _refuse(refused.errors) from refused
    click.echo(f"township {township_id} {name} created; its administrator logs in as {admin_username}")


@township.command("list", help="List the townships.")
def township_list() -> None:
    from baoxue.tenants.tenancy.townships import list_townships

    for township_id, code, name, county in list_townships():
        click.echo(f"{township_id}\t{code}\t{name}\t{county}")


@main.group(help="Logins.")
def user() -> None:
    pass


@user.command("reset-password", help="Set a new password, lift a lock-out, end the login's sessions.")
@click.argument("username")
@click.password_option("--password", envvar="BAOXUE_NEW_PASSWORD")
def user_reset_password(username: str, password: str) -> None:
    from baoxue.platform.errors import InvalidInput
    from baoxue.tenants.tenancy.townships import do_reset_password

    try:
        do_reset_password(username, password)
    except InvalidInput as refused:
        raise _refuse(refused.errors) from refused
    click.echo(f"password of {username} reset")


@main.command("run", help="Serve the web application.")
@click.option("--host", default=None)
@click.option("--port", default=None, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), envvar="BAOXUE_WEB_WORKERS",
              help="Web server processes (or BAOXUE_WEB_WORKERS). Production runs several: one process "
                   "serves one request's Python work at a time.")
@click.option("--reload", is_flag=True, help="Restart on code changes (development; one process).")
def run(host: str | None, port: int | None, workers: int, reload: bool) -> None:
    import uvicorn

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    if reload and workers > 1:
        raise click.UsageError("--reload runs one process; leave out --workers (or BAOXUE_WEB_WORKERS).")
    click.echo(f"保学 serving at http://{host}:{port}" + (f" with {workers} processes" if workers > 1 else ""))
    uvicorn.run("baoxue.platform.app:create_app", factory=True, host=host, port=port, reload=reload,
                workers=workers, log_level="info")


@main.command("worker", help="Run job workers against Redis (BAOXUE_REDIS_URL), and the dispatcher that "
                             "sends recorded jobs.")
@click.option("--threads", default=4, show_default=True)
def worker(threads: int) -> None:
    from baoxue.workers.broker import run_worker_forever

    if not get_settings().redis_url:
        raise click.ClickException("BAOXUE_REDIS_URL is not set: without Redis, jobs run inside `baoxue run`.")
    _log_to_stderr()
    run_worker_forever(threads=threads)


@main.command("scheduler", help="Record and send the periodic jobs (figures every night, ...); survives outages.")
@click.option("--once", is_flag=True, help="One round now, then exit (status 1 if it failed).")
@click.option("--interval", type=float, default=None,
              help="Seconds between rounds [default: BAOXUE_SCHEDULER_INTERVAL_SECONDS, 60].")
def scheduler(once: bool, interval: float | None) -> None:
    from baoxue.workers.scheduler import run_scheduler

    _log_to_stderr()
    if not run_scheduler(once=once, interval=interval):
        sys.exit(1)


def _log_to_stderr() -> None:
    """The long-running job commands say what they do (and what failed) on stderr."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


if __name__ == "__main__":
    sys.exit(main())
