"""What the county concept does when the figures move (`platform.concepts.notify`)."""

from __future__ import annotations

from sqlalchemy.orm import Session


def on_figures_rebuilt(session: Session) -> None:
    """The figures job stored new counts: publish the township's aggregates to its county, in
    the job's transaction (the county never sees counts the township has not stored)."""
    from baoxue.tenants.county.service import publish

    publish(session)
