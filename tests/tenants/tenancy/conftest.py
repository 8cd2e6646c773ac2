import secrets
from typing import Any

import pytest


def unique() -> str:
    """The database is shared by the whole run: names made here must not collide."""
    return secrets.token_hex(3)


@pytest.fixture(scope="module")
def admin(persona: Any) -> Any:
    return persona("bd_admin")
