"""The demo's status changes: every state in both townships, with the work and the records they leave."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select

from baoxue.platform.audit import AuditEvent
from baoxue.platform.clock import clock
from baoxue.platform.db import cross_township_session
from baoxue.platform.files import storage
from baoxue.tenants.status_changes.models import StatusChange
from baoxue.tenants.worklist.models import WorkItem
from tests.tenants.status_changes.helpers import school_ids


def test_every_state_is_shown_in_both_townships(demo: Any, townships: dict[str, int]) -> None:
    with cross_township_session("tests: the demo's changes", demo) as s:
        for code, township_id in townships.items():
            # The demo's own changes: those the tests of this run made came later.
            changes = s.scalars(select(StatusChange).where(StatusChange.township_id == township_id)
                                .order_by(StatusChange.id).limit(10)).all()
            states = Counter((c.kind, c.state, c.next_step) for c in changes)
            assert {("transfer_out", "pending", "class_teacher"), ("transfer_out", "pending", "principal"),
                    ("transfer_out", "completed", ""), ("suspension", "pending", "bureau"),
                    ("suspension", "completed", ""), ("resumption", "pending", "principal"),
                    ("repetition", "refused", ""), ("elsewhere", "pending", "central_school")} <= set(states), code
            assert states[("transfer_out", "in_transfer", "arrival")] == 2
            for c in changes:
                if c.document_key:  # the certificates are there to download
                    assert storage(demo).read(township_id, c.document_key).startswith(b"%PDF-")
            events = set(s.scalars(select(AuditEvent.event).where(
                AuditEvent.entity_type == "status_changes", AuditEvent.entity_id.in_([str(c.id) for c in changes]))))
            assert {"status_changes:change:requested", "status_changes:step:approved", "status_changes:step:refused",
                    "status_changes:change:completed"} <= events


def test_the_central_school_has_an_overdue_transfer_and_the_class_teacher_an_opinion_to_give(
        demo: Any, townships: dict[str, int]) -> None:
    bd = townships["DEMO-BD"]
    cps = school_ids(demo, bd)["cps"]
    with cross_township_session("tests: the demo's work items", demo) as s:
        items = s.scalars(select(WorkItem).where(WorkItem.township_id == bd, WorkItem.closed_at.is_(None),
                                                 WorkItem.subject_type == "status_changes")).all()
    overdue = [i for i in items if i.kind == "status_changes:overdue" and i.due_on < clock.today()]
    assert len(overdue) == 1 and overdue[0].owner_unit_id == cps and overdue[0].shows_from == overdue[0].due_on
    assert any(i.kind.startswith("status_changes:class_teacher:") and i.owner_membership_id for i in items)
