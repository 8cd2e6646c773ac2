"""What the concepts' service tests share: a session that acts as whoever the test says and
leaves nothing behind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from baoxue.platform.db import TenantContext, new_session


@pytest.fixture
def s(demo: Any) -> Iterator[Any]:
    """A session on the demo, rolled back at the end (`acting(s, demo, "bd_office")` narrows it)."""
    session = new_session(TenantContext(), demo)
    yield session
    session.rollback()
    session.close()
