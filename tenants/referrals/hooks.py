"""What referrals do when another concept's record changes (`platform.concepts.notify`)."""

from __future__ import annotations

from sqlalchemy.orm import Session


def on_case_enforcing(session: Session, *, case_id: int) -> None:
    """A case entered 依法控辍: the justice office's ticket is opened by a job, asked for in the
    case's own transaction (a rolled-back step asks for nothing), once per case by its key."""
    from baoxue.platform.db import township_id_of
    from baoxue.platform.jobs import request_job
    from baoxue.tenants.referrals.tasks import enforcement_key, open_enforcement_ticket

    request_job(session, township_id_of(session), open_enforcement_ticket, enforcement_key(case_id))
