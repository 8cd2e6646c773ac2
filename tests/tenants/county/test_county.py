"""The county over the demo: its viewer sees both townships side by side and no child; the
figures job publishes each township's aggregates; on PostgreSQL the row-level policy, not the
application, keeps the county to its published rows and a township to its own county."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from baoxue.platform.db import TenantContext, cross_township_session, new_session, tenant_session
from baoxue.platform.jobs import record_job, township_context
from baoxue.platform.scoping import Scope
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.models import County
from baoxue.workers.dispatcher import send_job
from tests.workers.conftest import (  # noqa: F401 - the job tests' fixtures
    app_broker,
    finished,
    private_broker,
    start_worker,
    unique_key,
    wait_for,
)


def _county_id(demo: Any) -> int:
    with cross_township_session("tests: the demo county", demo) as s:
        return s.scalars(select(County.id).where(County.code == "DEMO-XIAN")).one()


def test_the_county_viewer_sees_both_townships_and_no_child(demo: Any, signed_in: Any) -> None:
    client = signed_in("county_edu")
    first = client.get("/", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/county"
    page = client.get("/county").text
    assert "板当镇" in page and "龙岗乡" in page and "月报汇总" in page and "今天要做的事" in page
    with cross_township_session("tests: every child's name", demo) as s:
        names = set(s.scalars(select(Student.name)))
    shown = set(re.findall(r"[\u4e00-\u9fff]{2,4}", page))
    assert not names & shown
    assert not re.search(r"\d{17}[\dX]", page)


def test_the_county_viewer_reaches_nothing_inside_a_township(persona: Any) -> None:
    viewer = persona("county_edu")
    for path in ("/api/students", "/api/figures", "/api/dashboard", "/api/cases", "/api/census/findings"):
        assert viewer.get(path).status_code in (403, 404), path
    data = viewer.get("/api/county").json()
    assert [t["township"] for t in data["townships"]] == ["板当镇", "龙岗乡"]
    assert {"enrolled", "lines", "ledgers", "reports"} <= set(data["townships"][0]["data"])


def test_a_township_reader_may_not_open_the_county(persona: Any) -> None:
    assert persona("bd_leader").get("/api/county").status_code == 403
    assert persona("bd_county").get("/api/county").status_code == 403  # a township's own county viewer role


def test_the_figures_job_publishes_to_the_county(demo: Any, persona: Any, townships: dict[str, int],
                                                  private_broker: Any, app_broker: Any,
                                                  start_worker: Any) -> None:  # noqa: F811
    app_broker(private_broker)
    start_worker(private_broker)
    viewer = persona("county_edu")
    before = {t["township"]: t["published_at"] for t in viewer.get("/api/county").json()["townships"]}
    township, key = townships["DEMO-BD"], unique_key("figures:test")
    with tenant_session(township_context(township), demo) as s:
        record_job(s, township, "rebuild_figures", key)
    send_job(private_broker, "rebuild_figures", township, key)  # the dispatcher's part
    run = wait_for(lambda: finished(demo, township, key), seconds=60)
    assert run.status == "done", run.error
    after = {t["township"]: t["published_at"] for t in viewer.get("/api/county").json()["townships"]}
    assert after["板当镇"] > before["板当镇"] and after["龙岗乡"] == before["龙岗乡"]


# --- the wall, as the application's role with raw SQL ------------------------------------------

def _raw(demo: Any, sql: str, *, township_id: int | None = None, county_id: int | None = None,
         **params: Any) -> list[Any]:
    scope = Scope.township(township_id) if township_id is not None else None
    session = new_session(TenantContext(scope=scope, county_id=county_id), demo)
    try:
        return list(session.execute(text(sql), params))
    finally:
        session.rollback()
        session.close()


@pytest.mark.postgres_only
def test_a_county_session_reads_its_published_rows_and_nothing_else(demo: Any, townships: dict[str, int]) -> None:
    county = _county_id(demo)
    published = _raw(demo, "select distinct township_id from published_figures", county_id=county)
    assert {r[0] for r in published} == {townships["DEMO-BD"], townships["DEMO-LG"]}
    assert _raw(demo, "select distinct township_id from published_figures", county_id=county + 1000) == []
    for table in ("students", "cases", "census_children", "period_counts", "memberships"):
        assert _raw(demo, f"select count(*) from {table}", county_id=county)[0][0] == 0, table


@pytest.mark.postgres_only
def test_a_township_reads_only_its_own_published_row_and_publishes_only_to_its_county(
        demo: Any, townships: dict[str, int]) -> None:
    bd, lg = townships["DEMO-BD"], townships["DEMO-LG"]
    assert {r[0] for r in _raw(demo, "select township_id from published_figures", township_id=bd)} == {bd}
    with cross_township_session("tests: another county", demo) as s:
        other = County(code="TEST-OTHER-XIAN", name="外县教育局")
        s.add(other)
        s.flush()
        other_id = other.id
    with pytest.raises(DBAPIError):
        _raw(demo, "update published_figures set county_id = :c", township_id=bd, c=other_id)
    with pytest.raises(DBAPIError):
        _raw(demo, "insert into published_figures (township_id, county_id, period, township_name, published_at, data)"
                   " values (:t, :c, 'ytd:2000-01', '板当镇', now(), '{}')", township_id=bd, t=bd, c=other_id)
    with pytest.raises(DBAPIError):  # and never as another township
        _raw(demo, "insert into published_figures (township_id, county_id, period, township_name, published_at, data)"
                   " values (:t, :c, 'ytd:2000-01', '龙岗乡', now(), '{}')", township_id=bd, t=lg,
             c=_county_id(demo))


def test_the_county_service_fails_closed_without_a_county(demo: Any, townships: dict[str, int]) -> None:
    from litestar.exceptions import NotFoundException

    from baoxue.tenants.county.service import published

    session = new_session(TenantContext(scope=Scope.township(townships["DEMO-BD"])), demo)
    try:
        with pytest.raises(NotFoundException):
            published(session)
    finally:
        session.rollback()
        session.close()
