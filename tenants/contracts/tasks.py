"""Contracts' job: this school year's contracts to every village or every school, one per party.
Its key is the kind and the school year ("contracts:issue:village:2026"): asking again is the same
job; the contracts' unique key makes a run that does get repeated create nothing."""

from __future__ import annotations

from typing import Any

from baoxue.platform.jobs import run_once
from baoxue.workers.actors import actor


def issue_key(kind: str, year: int, school_id: int | None = None) -> str:
    """'contracts:issue:village:2026', 'contracts:issue:teacher:2026:7' (a school's teachers):
    one job per kind, school year (and school)."""
    return f"contracts:issue:{kind}:{year}" + (f":{school_id}" if school_id is not None else "")


def issue(session: Any, key: str) -> dict[str, Any]:
    from baoxue.tenants.contracts.service import issue_all

    _, _, kind, year, *rest = key.split(":")
    return issue_all(session, kind, int(year), int(rest[0]) if kind == "teacher" else None)


@actor
def issue_contracts(township_id: int, key: str) -> None:
    run_once(township_id, key, "issue_contracts", lambda session: issue(session, key))


actors = [issue_contracts]
schedules: list[Any] = []
