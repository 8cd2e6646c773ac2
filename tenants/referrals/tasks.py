"""The referrals' job: the justice office's ticket when a case enters 依法控辍."""

from __future__ import annotations

from baoxue.platform.jobs import run_once
from baoxue.workers.actors import actor


def enforcement_key(case_id: int) -> str:
    return f"referrals:enforcement:{case_id}"


@actor
def open_enforcement_ticket(township_id: int, key: str) -> None:
    from baoxue.tenants.referrals.service import open_enforcement_referral

    case_id = int(key.rsplit(":", 1)[1])

    def work(session: object) -> dict[str, object]:
        ticket = open_enforcement_referral(session, case_id)  # type: ignore[arg-type]
        return {"referral_id": ticket.id if ticket else None}

    run_once(township_id, key, "open_enforcement_ticket", work)


actors = [open_enforcement_ticket]
schedules: list[object] = []
