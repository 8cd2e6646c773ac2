"""The test harness: a real database (PostgreSQL or SQLite), real migrations, a real broker.

`BAOXUE_TEST_DATABASE=postgresql` (the default) makes a fresh database per run on
127.0.0.1:5432: migrations run as `postgres`, the app connects as `baoxue_test_web`, a login
that owns no table — tests as a superuser would prove nothing about row-level security. Jobs go
through Redis (db 13) with a real dramatiq worker. `BAOXUE_TEST_DATABASE=sqlite` runs the same
suite on a file in a temporary folder with the in-process queue. Under CI=true a missing
service fails the run; it never skips.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

BACKEND = os.environ.get("BAOXUE_TEST_DATABASE", "postgresql")
PG_HOST = "127.0.0.1"
REDIS_URL = "redis://127.0.0.1:6379/13"
RUNTIME_ROLE = "baoxue_test_web"
DEMO_PASSWORD = "baoxue2026"


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _admin_connect(dbname: str = "postgres") -> Any:
    import psycopg

    return psycopg.connect(host=PG_HOST, user="postgres", dbname=dbname, autocommit=True)


@pytest.fixture(scope="session")
def test_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Environment for the whole run; set before the app's settings are first read."""
    data_dir = tmp_path_factory.mktemp("data")
    env = {"BAOXUE_ENV": "test", "BAOXUE_DATA_DIR": str(data_dir), "BAOXUE_SECRET_KEY": secrets.token_hex(32)}
    dbname = ""
    if BACKEND == "postgresql":
        for port, name in ((5432, "PostgreSQL"), (6379, "Redis")):
            if not _reachable(port):
                message = f"{name} is not reachable on 127.0.0.1:{port}"
                if os.environ.get("CI") == "true":
                    pytest.fail(message + " (CI=true: the suite needs it)")
                pytest.skip(message)
        dbname = f"baoxue_test_{os.getpid()}_{secrets.token_hex(3)}"
        with _admin_connect() as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        env["BAOXUE_DATABASE_ADMIN_URL"] = f"postgresql://postgres@{PG_HOST}/{dbname}"
        env["BAOXUE_DATABASE_URL"] = f"postgresql://{RUNTIME_ROLE}@{PG_HOST}/{dbname}"
        env["BAOXUE_REDIS_URL"] = REDIS_URL
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    for key in ("BAOXUE_DATABASE_URL", "BAOXUE_DATABASE_ADMIN_URL", "BAOXUE_REDIS_URL"):
        if key not in env:
            saved[key] = os.environ.pop(key, None)
    from baoxue.platform.settings import reset_settings_cache

    reset_settings_cache()
    yield env
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    reset_settings_cache()
    if dbname:
        from baoxue.platform.db import engine_for

        for url in (env["BAOXUE_DATABASE_URL"], env["BAOXUE_DATABASE_ADMIN_URL"]):
            from baoxue.platform.settings import _normalise_db_url

            engine_for(_normalise_db_url(url)).dispose()
        with _admin_connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


@pytest.fixture(scope="session")
def settings(test_env: dict[str, str]) -> Any:
    from baoxue.platform.settings import get_settings

    return get_settings()


@pytest.fixture(scope="session")
def migrated(settings: Any) -> Any:
    from baoxue.platform import migrate

    migrate.upgrade(settings=settings)
    return settings


@pytest.fixture(scope="session")
def demo(migrated: Any) -> Any:
    """The two demo townships: the personas of every test."""
    from baoxue.platform.demo import seed_demo

    seed_demo()
    return migrated


@pytest.fixture(scope="session")
def app(demo: Any) -> Any:
    from baoxue.platform.app import create_app

    return create_app(demo)


@pytest.fixture(scope="session")
def client(app: Any) -> Iterator[Any]:
    from litestar.testing import TestClient

    with TestClient(app, base_url="http://testserver.local") as c:
        yield c


@pytest.fixture(scope="session")
def worker(demo: Any) -> Iterator[Any]:
    """A real dramatiq worker on the configured broker (Redis on PostgreSQL runs)."""
    from baoxue.workers.broker import configure_broker, in_process_worker, new_worker, start_in_process_worker

    broker = configure_broker(demo)
    if not demo.redis_url:
        start_in_process_worker(demo)
        yield in_process_worker()
        return
    w = new_worker(broker, demo)
    w.start()
    yield w
    w.stop(timeout=5000)


@dataclass
class Persona:
    """A demo login with an API token: `alice.get("/api/me")`."""

    username: str
    token: str
    client: Any

    def _h(self, kw: dict[str, Any]) -> dict[str, Any]:
        kw.setdefault("headers", {})["Authorization"] = f"Bearer {self.token}"
        return kw

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, **self._h(kw))

    def post(self, url: str, **kw: Any) -> Any:
        return self.client.post(url, **self._h(kw))

    def patch(self, url: str, **kw: Any) -> Any:
        return self.client.patch(url, **self._h(kw))

    def put(self, url: str, **kw: Any) -> Any:
        return self.client.put(url, **self._h(kw))

    def delete(self, url: str, **kw: Any) -> Any:
        return self.client.delete(url, **self._h(kw))

    def request(self, method: str, url: str, **kw: Any) -> Any:
        return self.client.request(method, url, **self._h(kw))

    def me(self) -> dict[str, Any]:
        return self.get("/api/me").json()


_tokens: dict[str, str] = {}


@pytest.fixture(scope="session")
def persona(client: Any) -> Any:
    """`persona("bd_leader")`: a logged-in demo user (one login per username per run)."""

    def make(username: str, password: str = DEMO_PASSWORD) -> Persona:
        if username not in _tokens:
            r = client.post("/api/auth/token", json={"username": username, "password": password})
            assert r.status_code == 201, r.text
            _tokens[username] = r.json()["token"]
        return Persona(username, _tokens[username], client)

    return make


@pytest.fixture
def db_session(demo: Any) -> Any:
    """`db_session(township_id, unit_kind="township", unit_id=None, class_ids=None)`: a scoped session."""
    from baoxue.platform.db import TenantContext, new_session
    from baoxue.platform.permissions import UnitKind
    from baoxue.platform.scoping import Scope

    opened = []

    def make(township_id: int, unit_kind: str = "township", unit_id: int | None = None,
             class_ids: Any = None) -> Any:
        scope = Scope(township_id=township_id, unit_kind=UnitKind(unit_kind), unit_id=unit_id,
                      class_ids=None if class_ids is None else frozenset(class_ids))
        s = new_session(TenantContext(scope=scope), demo)
        opened.append(s)
        return s

    yield make
    for s in opened:
        s.rollback()
        s.close()


@pytest.fixture(scope="session")
def townships(demo: Any) -> dict[str, int]:
    """{"DEMO-BD": id, "DEMO-LG": id}."""
    from sqlalchemy import select

    from baoxue.platform.db import cross_township_session
    from baoxue.tenants.tenancy.models import Township

    with cross_township_session("tests: township ids", demo) as s:
        return dict(s.execute(select(Township.code, Township.id)).all())


@pytest.fixture(scope="session")
def signed_in(app: Any, client: Any) -> Any:
    """`signed_in("bd_leader")`: a TestClient with that demo login's page session (cookie, CSRF).

    One login per username per run (argon2 is slow on purpose); do not switch membership on it.
    The clients share the app `client` started: they are not entered, so they run no lifespan of
    their own (several started at once would each try to own the in-process job worker).
    """
    from litestar.testing import TestClient

    clients: dict[str, Any] = {}

    def make(username: str, password: str = DEMO_PASSWORD) -> Any:
        if username not in clients:
            c = TestClient(app, base_url="http://testserver.local")
            c.get("/login")
            r = c.post("/login", data={"username": username, "password": password, "next": "/",
                                       "_csrf_token": c.cookies.get("csrftoken")}, follow_redirects=False)
            assert r.status_code in (302, 303), r.text
            clients[username] = c
        return clients[username]

    return make


@pytest.fixture
def school_year_2026() -> Any:
    """Hold the clock in the 2026–2027 school year, which the demo's classes and these tests name
    (whether a class's grade and entry year agree depends on the school year)."""
    from datetime import datetime

    from baoxue.platform.clock import CHINA, clock

    now = clock.now()
    inside = datetime(2026, 9, 1, tzinfo=CHINA) <= now < datetime(2027, 9, 1, tzinfo=CHINA)
    clock.freeze(now if inside else datetime(2026, 11, 2, 10, tzinfo=CHINA))
    yield
    clock.unfreeze()
