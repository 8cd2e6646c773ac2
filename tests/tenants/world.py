"""A test's one rolled-back transaction of a demo township, acting as one login after another,
as requests would (the concepts' service tests subclass it with their own actions)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from baoxue.platform.db import TenantContext, set_tenant
from baoxue.platform.errors import InvalidInput
from baoxue.platform.identity import Actor
from baoxue.platform.permissions import Role
from baoxue.platform.scoping import Scope
from tests.tenants.status_changes.helpers import login_actor, school_ids


class TownshipWorld:
    def __init__(self, session: Any, settings: Any, township_id: int) -> None:
        self.session, self.settings, self.township_id = session, settings, township_id
        self.schools = school_ids(settings, township_id)
        self._actors: dict[str, Actor] = {}

    def actor(self, username: str, role: Role | None = None) -> Actor:
        key = f"{username}:{role}"
        if key not in self._actors:
            self._actors[key] = login_actor(self.settings, username, role)
        return self._actors[key]

    def act(self, actor: Actor) -> Actor:
        set_tenant(self.session, actor.context())
        return actor

    def as_township(self) -> None:
        set_tenant(self.session, TenantContext(scope=Scope.township(self.township_id)))


def refused(call: Callable[[], Any]) -> dict[str, str]:
    """The errors, by field, of an action that must refuse its input."""
    with pytest.raises(InvalidInput) as info:
        call()
    return info.value.errors
