import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from baoxue.platform.health import health_report


def test_health_reports_database_and_broker(client: Any, worker: Any) -> None:
    r = client.get("/health")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def private_redis() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A Redis of our own, so the test can stop it without touching anyone else's."""
    exe = shutil.which("redis-server")
    assert exe, "redis-server is needed for this test (Debian: apt-get install redis-server)"
    port = _free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield proc, f"redis://127.0.0.1:{port}/0"
    proc.kill()
    proc.wait()


def test_a_stopped_broker_gives_503(client: Any, app: Any, private_redis: tuple[Any, str]) -> None:
    proc, url = private_redis
    original = app.state.settings
    app.state.settings = replace(original, redis_url=url)
    try:
        assert client.get("/health").status_code == 200
        proc.kill()
        proc.wait()
        r = client.get("/health")
        assert r.status_code == 503
        assert r.json()["broker"]["ok"] is False
        assert r.json()["database"]["ok"] is True
    finally:
        app.state.settings = original


def test_a_stopped_database_gives_503(settings: Any, tmp_path: Any) -> None:
    dead = replace(settings, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    status, body = health_report(dead)
    assert status == 503
    assert body["database"]["ok"] is False
