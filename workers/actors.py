"""Declaring actors and binding them to a broker.

Concepts declare their actors with `@actor` in `tenants/<concept>/tasks.py`; each actor takes
(township_id, key), builds its key in one function beside it, and runs its service once per
key (`baoxue.platform.jobs.run_once`). Declaring needs no broker: actors are held here and
`bind()` attaches them to the broker the settings ask for (or to a test's broker).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker

# Actors are declared on this placeholder, so that importing a tasks module never creates
# dramatiq's default broker; `bind()` declares them on the real one.
_unbound = StubBroker()
_actors: dict[str, dramatiq.Actor[Any, Any]] = {}


def actor(fn: Callable[..., Any] | None = None, **options: Any) -> Any:
    """Declare an actor: `@actor` or `@actor(time_limit=...)`. Retries a failing job 3 times."""

    def declare(f: Callable[..., Any]) -> dramatiq.Actor[Any, Any]:
        settings = {"max_retries": 3, "min_backoff": 1000, "max_backoff": 30000, **options}
        wrapped: dramatiq.Actor[Any, Any] = dramatiq.actor(f, broker=_unbound, **settings)
        _actors[wrapped.actor_name] = wrapped
        return wrapped

    return declare(fn) if fn is not None else declare


def registered() -> dict[str, dramatiq.Actor[Any, Any]]:
    """Every actor, by name, after importing every concept's tasks (the registry declares them)."""
    from baoxue.platform.concepts import all_actors

    all_actors()
    return _actors


def actor_named(name: str) -> dramatiq.Actor[Any, Any]:
    found = registered().get(name)
    if found is None:
        raise LookupError(f"no actor named {name!r}")
    return found


def bind(broker: dramatiq.Broker, *, default: bool = True) -> None:
    """Declare every actor on `broker`; `default` also makes it the one `actor.send` uses."""
    for a in registered().values():
        if default:
            a.broker = broker
        broker.declare_actor(a)
