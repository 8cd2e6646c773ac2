"""The actors. Each takes ids, runs its service once per key (`run_once`), and nothing more."""

from __future__ import annotations

import dramatiq

from baoxue.platform.jobs import run_once

_actors: list[dramatiq.Actor] = []


def actor(fn):  # type: ignore[no-untyped-def]
    """Declare an actor that `bind()` attaches to the configured broker."""
    wrapped = dramatiq.actor(fn, max_retries=3, min_backoff=1000, max_backoff=30000)
    _actors.append(wrapped)
    return wrapped


def bind(broker: dramatiq.Broker) -> None:
    """Attach every actor to `broker` (the app, CLI and tests may switch broker once)."""
    for a in _actors:
        a.broker = broker
        broker.declare_actor(a)


@actor
def rebuild_figures(township_id: int, key: str) -> None:
    from baoxue.tenants.figures.service import rebuild_enrolment_figures

    run_once(township_id, key, "rebuild_figures", lambda session: rebuild_enrolment_figures(session, key))
