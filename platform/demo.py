"""The demo seed: every concept's share of the two demo townships, in one transaction.

`baoxue demo seed` (and `make demo`, and the test suite) call `seed_demo()`. It runs each
concept's `demo.seed(demo)` in registry order, so a concept seeds on top of what the concepts
it requires have made; `demo.state` carries what one concept leaves for the next (the tenancy
concept leaves each township's plan, villages, schools and classes). Everything is drawn from
generators seeded per concept: the same content on every machine, and a new concept's draws
never shift the data of the concepts before it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from baoxue.platform.concepts import all_concepts
from baoxue.platform.clock import CHINA, clock
from baoxue.platform.db import TenantContext, cross_township_session, set_tenant
from baoxue.platform.settings import Settings

RANDOM_SEED = 20260901
DEMO_MARKER = "DEMO-BD"  # the first demo township's code: present means seeded


@dataclass
class DemoContext:
    session: Session
    concept: str = ""
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def rng(self) -> random.Random:
        """This concept's own generator (a str seed is hashed with SHA-512: stable everywhere)."""
        generators = self.state.setdefault("_rng", {})
        if self.concept not in generators:
            generators[self.concept] = random.Random(f"{RANDOM_SEED}:{self.concept}")
        return generators[self.concept]


def seed_demo(settings: Settings | None = None) -> bool:
    """Load the demo townships; False (and nothing done) if they are there already."""
    with cross_township_session("demo seed", settings) as session:
        present = session.execute(text("select 1 from townships where code = :c"), {"c": DEMO_MARKER}).first()
        if present is not None:
            return False
        demo = DemoContext(session)
        for concept in all_concepts():
            seed = concept.seed_demo
            if seed is not None:
                demo.concept = concept.name
                seed(demo)
                session.flush()
    return True


def logins_text() -> str:
    """What `baoxue demo seed` prints: every concept's demo logins, if it has any."""
    parts = []
    for concept in all_concepts():
        module = concept.module("demo")
        text_of = getattr(module, "logins_text", None) if module else None
        if text_of is not None:
            parts.append(text_of())
    return "\n".join(parts)


@contextmanager
def acting(session: Session, actor: Any, moment: datetime) -> Iterator[Any]:
    """Act in the seeding session as a demo login on a given day: the services see that person's
    scope, audit in their name and read the clock at `moment` (wrap the story in `clock.kept()`)."""
    with _scoped(session, actor.context()):
        clock.freeze(moment)
        yield actor


def for_each_township(demo: DemoContext, seed_township: Any) -> None:
    """Tell a concept's demo story in each demo township, `seed_township(demo, seeded, start)`,
    on a clock held at the moment seeding began (restored afterwards)."""
    with clock.kept() as start:
        for seeded in demo.state["tenancy"].values():
            seed_township(demo, seeded, start)


def story_time(start: datetime, days_ago: int, hour: int = 9) -> datetime:
    """`hour` o'clock China time, `days_ago` days before the seeding began (never after it): when a
    demo story's step happened."""
    day = start.astimezone(CHINA).date() - timedelta(days=days_ago)
    return min(datetime.combine(day, time(hour), tzinfo=CHINA), start)


@contextmanager
def as_township(session: Session, township_id: int) -> Iterator[None]:
    """Work in the seeding session as the township itself (its morning job, its bulk rows):
    reads and writes are that township's only, as `acting` makes them a person's."""
    from baoxue.platform.scoping import Scope

    with _scoped(session, TenantContext(scope=Scope.township(township_id))):
        yield


@contextmanager
def _scoped(session: Session, context: TenantContext) -> Iterator[None]:
    """The seeding session narrowed to `context` for a block (the seeding itself is unscoped)."""
    reason = session.info.get("unscoped_reason")
    session.flush()
    session.info.pop("unscoped_reason", None)
    set_tenant(session, context)
    try:
        yield
        session.flush()
    finally:
        set_tenant(session, TenantContext())
        if reason:
            session.info["unscoped_reason"] = reason
