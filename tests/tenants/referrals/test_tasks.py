"""The justice office's ticket of a case in 依法控辍, opened by a job on a real worker: asked for
twice, delivered twice, or run by two workers at once, it is one ticket."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select, update

from baoxue.platform.db import cross_township_session, new_session, tenant_session
from baoxue.platform.jobs import township_context
from baoxue.tenants.cases.models import Case
from baoxue.tenants.referrals.models import Referral
from baoxue.tenants.referrals.service import open_enforcement_referral
from baoxue.tenants.referrals.tasks import enforcement_key
from baoxue.workers.dispatcher import send_job
from tests.tenants.referrals.helpers import department
from tests.workers.conftest import (  # noqa: F401 - the job tests' fixtures
    app_broker,
    finished,
    private_broker,
    start_worker,
    wait_for,
)


def _enforcing_case(demo: Any, township: int) -> int:
    """An open case moved to 依法控辍 by hand (its steps are the case file's tests' business)."""
    with cross_township_session("tests: a case in enforcement", demo) as s:
        case_id = s.scalars(select(Case.id).where(Case.township_id == township, Case.stage == "persuading")
                            .order_by(Case.id.desc()).limit(1)).one()
        s.execute(update(Case).where(Case.id == case_id).values(stage="enforcing"))
    return case_id


def _tickets(demo: Any, case_id: int) -> list[Referral]:
    with cross_township_session("tests: tickets of a case", demo) as s:
        return list(s.scalars(select(Referral).where(Referral.case_id == case_id, Referral.key.is_not(None))))


def test_the_job_asked_twice_and_delivered_twice_opens_one_ticket(demo: Any, townships: dict[str, int],
                                                                  private_broker: Any, app_broker: Any,
                                                                  start_worker: Any) -> None:  # noqa: F811
    from baoxue.tenants.referrals.hooks import on_case_enforcing

    app_broker(private_broker)
    start_worker(private_broker, threads=2)
    township = townships["DEMO-LG"]
    case_id = _enforcing_case(demo, township)
    for _ in range(2):  # the stage moved, and (say) a retry of the request asked again
        session = new_session(township_context(township), demo)
        on_case_enforcing(session, case_id=case_id)
        session.commit()
        session.close()
    key = enforcement_key(case_id)
    send_job(private_broker, "open_enforcement_ticket", township, key)  # a redelivery
    run = wait_for(lambda: finished(demo, township, key), seconds=30)
    assert run.status == "done", run.error
    (ticket,) = _tickets(demo, case_id)
    assert ticket.department_id == department(demo, township, "justice") and ticket.state == "opened"
    assert run.result == {"referral_id": ticket.id}


def test_two_workers_at_once_leave_one_ticket(demo: Any, townships: dict[str, int]) -> None:
    township = townships["DEMO-LG"]
    case_id = _enforcing_case(demo, township)
    barrier, made, errors = threading.Barrier(2), [], []

    def work() -> None:
        try:
            with tenant_session(township_context(township), demo) as session:
                barrier.wait(timeout=10)
                ticket = open_enforcement_referral(session, case_id)
                made.append(ticket.id if ticket else None)
        except Exception as failed:  # noqa: BLE001 - reported below
            errors.append(repr(failed))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tickets = _tickets(demo, case_id)
    assert len(tickets) == 1, (tickets, errors)
    assert set(made) <= {tickets[0].id}  # the second found the first's ticket (or lost the race with an error)
    with cross_township_session("tests: the key is unique", demo) as s:
        assert s.scalar(select(func.count(Referral.id)).where(Referral.key == f"enforcement:{case_id}")) == 1
