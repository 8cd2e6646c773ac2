"""Query counts on list, dashboard and job paths: a page of 50 rows is not 50 queries."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from baoxue.platform.db import app_engine


def in_background() -> bool:
    """A statement of the job machinery (the dispatcher, a dramatiq worker thread), not of the
    request or action being counted: jobs recorded by earlier tests may run at any moment."""
    thread = threading.current_thread()
    return thread.name == "baoxue-dispatcher" or type(thread).__module__.startswith("dramatiq")


@contextmanager
def count_queries(settings: Any) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not in_background():
            statements.append(statement)

    engine = app_engine(settings)
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_request_overhead_is_a_handful_of_queries(persona: Any, demo: Any) -> None:
    p = persona("bd_leader")
    p.get("/api/me")
    with count_queries(demo) as q:
        assert p.get("/api/me").status_code == 200
    # The session row, the person, their memberships (with unit names), their classes, and the
    # database settings as the person becomes known: the same for every request.
    assert len(q) <= 7, q


def test_student_list_does_not_query_per_row(persona: Any, demo: Any) -> None:
    p = persona("bd_leader")
    p.get("/api/students")
    with count_queries(demo) as q:
        rows = p.get("/api/students").json()
    assert len(rows) == 50
    with count_queries(demo) as q_page2:
        p.get("/api/students?page=2")
    assert len(q) == len(q_page2) <= 10, q


def test_home_dashboard_is_a_fixed_number_of_queries(client: Any, demo: Any, townships: dict[str, int]) -> None:
    """With figures computed, on a school day (the most a leader's home reads): sign-in 7, the
    worklist 1, the overview 3, the new grants 1, the figures 4 (snapshot, counts, schools,
    villages), attendance's glance 5 (the calendar 2, the day's reports by school 3), the
    census's findings 1 (one statement of counts), the referral tickets by state 1, the task
    copies overdue and awaiting acceptance 1, the transaction's settings 1."""
    from datetime import datetime

    from baoxue.platform.clock import CHINA, clock
    from baoxue.platform.db import tenant_session
    from baoxue.platform.jobs import township_context
    from baoxue.tenants.figures.service import rebuild_enrolment_figures
    from tests.platform.test_identity import page_login

    with tenant_session(township_context(townships["DEMO-BD"]), demo) as session:
        rebuild_enrolment_figures(session, "figures:test:query-counts")
    clock.freeze(datetime(2026, 11, 25, 10, 0, tzinfo=CHINA))  # a Wednesday of the term: a school day
    try:
        page_login(client, "bd_leader", "baoxue2026")
        client.get("/")
        with count_queries(demo) as q:
            assert client.get("/").status_code == 200
    finally:
        clock.unfreeze()
    assert len(q) <= 25, (len(q), q)
    client.cookies.clear()
