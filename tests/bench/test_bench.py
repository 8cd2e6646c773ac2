"""Benchmarks, as ratios against a baseline measured in the same run (`make bench`).

They print and record; they assert nothing about time. Ratios survive a slower machine, a
busy CI host or an old laptop; absolute milliseconds do not.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path("var/bench.json")


def _median_seconds(fn: Callable[[], Any], repeat: int = 30) -> float:
    fn()  # warm caches, compile statements
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


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
    base = _median_seconds(lambda: client.get("/health"))
    me = _median_seconds(lambda: p.get("/api/me"))
    page = _median_seconds(lambda: p.get("/api/students"))
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
        base = _median_seconds(lambda: unscoped.scalars(query).all())
    subject = _median_seconds(lambda: scoped.scalars(query).all())
    _record("scope_listener", "unscoped select of 50 students", base, "scoped select", subject)
