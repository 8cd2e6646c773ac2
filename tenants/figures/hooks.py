"""What the figures do when another concept's record moves them (`platform.concepts.notify`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

_PENDING = "figures_moved"  # session.info: the rebuild keys this transaction asks for


def on_figures_moved(session: Session, *, what: str, record_id: Any) -> None:
    """A status change finished, a 流失报告 filed, a case opened or closed, a roster imported:
    a rebuild of the periods under way is recorded in the same transaction, keyed by the change,
    so that the dashboard never counts on a page view. Recorded as the transaction commits
    (`_record_rebuilds`): the acting action's own statements are untouched, and a transaction
    that rolls back asks for nothing."""
    from baoxue.platform.db import tenant_of

    session.info.setdefault(_PENDING, {})[f"{what}:{record_id}"] = tenant_of(session).township_id


@event.listens_for(Session, "before_commit")
def _record_rebuilds(session: Session) -> None:
    if not session.info.get(_PENDING) or session.in_nested_transaction():
        return  # nothing asked for, or a savepoint ending: the outer commit records them
    from baoxue.tenants.figures.service import request_after_change

    for change, township_id in session.info.pop(_PENDING).items():
        request_after_change(session, township_id, change)


@event.listens_for(Session, "after_transaction_end")
def _forget_rebuilds(session: Session, transaction: Any) -> None:
    """A transaction that ended without committing (rolled back) asks for nothing."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def pending_rebuilds(session: Session) -> list[str]:
    """What this transaction will ask for when it commits (tests read it)."""
    return list(session.info.get(_PENDING, {}))
