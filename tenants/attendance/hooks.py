"""What attendance does when another concept's record changes (`platform.concepts.notify`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxue.tenants.attendance.models import AbsenceSpell


def on_visit_recorded(session: Session, *, student_id: int) -> None:
    """A call or a visit, wherever it was recorded (the case file, the student's page), fulfils
    the child's open spell's step at once: its class's escalation runs again."""
    from baoxue.tenants.attendance import escalation

    class_ids = sorted(set(session.scalars(select(AbsenceSpell.class_id).where(
        AbsenceSpell.student_id == student_id, AbsenceSpell.ended_at.is_(None), AbsenceSpell.case_id.is_(None),
        AbsenceSpell.class_id.is_not(None)))))
    if class_ids:
        escalation.check(session, class_ids=class_ids)
