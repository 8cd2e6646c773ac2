"""Benchmarks, as ratios against a baseline measured in the same run (`make bench`).

They print and record; they assert nothing about time. Ratios survive a slower machine, a
busy CI host or an old laptop; absolute milliseconds do not.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.bench.timing import median_seconds

RESULTS = Path("var/bench.json")




def _record(name: str, baseline: str, base_s: float, subject: str, subject_s: float) -> None:
    ratio = subject_s / base_s
    print(f"\n{name}: {subject} / {baseline} = {ratio:.2f}  ({subject_s * 1000:.2f} ms / {base_s * 1000:.2f} ms)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data[name] = {"ratio": round(ratio, 3), "baseline": baseline, "subject": subject}
    RESULTS.write_text(json.dumps(data, ensure_ascii=False, indent=2))


def test_authenticated_scoped_list_against_health(persona: Any, client: Any) -> None:
    """What authentication, the scope and a 50-row page cost over the cheapest request."""
    p = persona("bd_mid_principal")
    base = median_seconds(lambda: client.get("/health"))
    me = median_seconds(lambda: p.get("/api/me"))
    page = median_seconds(lambda: p.get("/api/students"))
    _record("request_auth_overhead", "GET /health", base, "GET /api/me", me)
    _record("scoped_student_page", "GET /health", base, "GET /api/students (50 rows)", page)


def test_scope_listener_cost(db_session: Any, townships: dict[str, int], demo: Any) -> None:
    """The same query with the scope listener against the owner's unscoped session."""
    from sqlalchemy import select

    from baoxue.platform.db import cross_township_session
    from baoxue.tenants.students.models import Student

    scoped = db_session(townships["DEMO-BD"], "school", 1)
    query = select(Student).where(Student.school_id == 1).limit(50)
    with cross_township_session("bench: baseline", demo) as unscoped:
        base = median_seconds(lambda: unscoped.scalars(query).all())
    subject = median_seconds(lambda: scoped.scalars(query).all())
    _record("scope_listener", "unscoped select of 50 students", base, "scoped select", subject)


# --- load: a real server, 20 clients at once ---------------------------------------------------

CLIENTS = 20
REQUESTS_PER_CLIENT = 10  # 200 requests a path ...
PATH_DEADLINE_S = 60  # ... or this long, whichever comes first
SERVER_PROCESSES = 2


def _percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


@contextmanager
def _server(processes: int) -> Iterator[str]:
    """`baoxue run` in its own process group, on a free port of 127.0.0.1, with the test run's env."""
    import os
    import signal
    import socket
    import subprocess
    import sys

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).with_name("baoxue")
    proc = subprocess.Popen([str(exe), "run", "--host", "127.0.0.1", "--port", str(port), "--workers", str(processes)],
                            env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "baoxue run exited"
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "baoxue run did not answer /health within 60 s"
            time.sleep(0.2)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and its worker processes, which we started
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _signed_in_cookies(base: str, username: str) -> dict[str, str]:
    import httpx

    with httpx.Client(base_url=base) as c:
        c.get("/login")
        r = c.post("/login", data={"username": username, "password": "baoxue2026", "next": "/",
                                   "_csrf_token": c.cookies.get("csrftoken", "")})
        assert r.status_code in (302, 303), r.text[:300]
        return dict(c.cookies)


def _load(base: str, path: str, cookies: dict[str, str]) -> list[float]:
    """CLIENTS clients, each with its own connection, asking for `path` in a loop; the latencies."""
    import threading

    import httpx

    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + PATH_DEADLINE_S
    start = threading.Barrier(CLIENTS)

    def client() -> None:
        with httpx.Client(base_url=base, cookies=cookies, timeout=30) as c:
            try:
                c.get(path)  # connect and warm up before the clock starts
            except httpx.HTTPError as failed:
                failures.append(f"{path}: warm-up {failed!r}")
                start.abort()  # the others must not wait for this one
                return
            try:
                start.wait(timeout=120)
            except threading.BrokenBarrierError:
                return
            for _ in range(REQUESTS_PER_CLIENT):
                if time.monotonic() > deadline:
                    return
                began = time.perf_counter()
                r = c.get(path)
                elapsed = time.perf_counter() - began
                with lock:
                    latencies.append(elapsed)
                    if r.status_code != 200:
                        failures.append(f"{path}: {r.status_code}")

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures[:5]
    return latencies


def test_twenty_clients_on_the_dashboard_and_the_student_list_against_health(demo: Any) -> None:
    """p50 and p95 under 20 concurrent clients, as ratios to /health under the same load."""
    with _server(SERVER_PROCESSES) as base:
        cookies = _signed_in_cookies(base, "bd_leader")
        health = _load(base, "/health", {})
        for name, path in (("dashboard", "/"), ("student_list", "/students")):
            subject = _load(base, path, cookies)
            for p in (50, 95):
                _record(f"load_{CLIENTS}_clients_{name}_p{p}", f"GET /health p{p}", _percentile(health, p),
                        f"GET {path} p{p} ({len(subject)} requests, {SERVER_PROCESSES} server processes)",
                        _percentile(subject, p))
