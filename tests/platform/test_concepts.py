"""The concept registry: a concept is its folder; the shell and the tests find it there."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import baoxue.tenants as tenants
from baoxue.platform.concepts import all_concepts, all_events, navigation


def test_the_concepts_come_in_dependency_order() -> None:
    names = [c.name for c in all_concepts()]
    assert names.index("tenancy") < names.index("students") < names.index("figures")
    for concept in all_concepts():
        assert concept.label and all(names.index(r) < names.index(concept.name) for r in concept.requires)


NEW_CONCEPT = {
    "__init__.py": '''
        from baoxue.platform.concepts import Concept, NavEntry
        from baoxue.platform.permissions import Permission

        concept = Concept(name="zz_probe", label="探针", requires=("tenancy",),
                          nav=(NavEntry("探针", "/zz-probe", Permission.STUDENT_READ, order=99),))
    ''',
    "events.py": '''
        from baoxue.platform.audit import EventEnum

        class Event(EventEnum):
            POKED = "zz_probe:thing:poked", "探针被戳"
    ''',
    "routes.py": '''
        from litestar import get

        from baoxue.platform.auth import requires
        from baoxue.platform.permissions import Permission

        @get("/api/zz-probe", opt=requires(Permission.STUDENT_READ), sync_to_thread=False)
        def probe() -> dict[str, str]:
            return {"hello": "探针"}

        routes = [probe]
    ''',
}


@pytest.fixture
def new_concept(tmp_path: Path) -> Iterator[None]:
    """A concept created by writing its folder alone, on the tenants package's search path."""
    folder = tmp_path / "zz_probe"
    folder.mkdir()
    for name, source in NEW_CONCEPT.items():
        (folder / name).write_text(textwrap.dedent(source), encoding="utf-8")
    tenants.__path__.append(str(tmp_path))
    all_concepts.cache_clear()
    try:
        yield
    finally:
        tenants.__path__.remove(str(tmp_path))
        all_concepts.cache_clear()


def test_a_new_concept_is_its_folder_alone(new_concept: None, demo: Any, persona: Any) -> None:
    from litestar.testing import TestClient

    from baoxue.platform.app import create_app

    assert "zz_probe" in [c.name for c in all_concepts()]
    assert "zz_probe:thing:poked" in all_events()
    assert ("探针", "/zz-probe") in [(e.label, e.href) for e in navigation()]
    token = persona("bd_leader").token
    with TestClient(create_app(demo)) as client:
        r = client.get("/api/zz-probe", headers={"Authorization": f"Bearer {token}"})
        assert r.json() == {"hello": "探针"}
        assert client.get("/api/zz-probe").status_code == 401  # the shell's guard covers it too
