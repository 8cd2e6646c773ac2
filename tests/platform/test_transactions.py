"""A request commits by its outcome: 2xx and 3xx keep what it wrote, anything else keeps nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Response, post
from litestar.response import Redirect
from litestar.testing import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baoxue.platform.auth import requires
from baoxue.platform.db import cross_township_session
from baoxue.platform.permissions import Permission
from baoxue.tenants.tenancy import service
from baoxue.tenants.tenancy.models import Village

WRITE = {**requires(Permission.STRUCTURE_WRITE), "probe": {}}


def _write(db: Session, name: str) -> None:
    service.do_create_village(db, name=name)  # flushed: the row is in the transaction


@post("/api/test-tx/{outcome:str}/{name:str}", opt=WRITE, sync_to_thread=True)
def write_then_answer(db: Session, outcome: str, name: str) -> Response[Any]:
    _write(db, name)
    if outcome == "refused":
        return Response({"detail": "表单有误"}, status_code=400)  # a form answered with its errors
    if outcome == "redirect":
        return Redirect(path="/", status_code=303)  # post-redirect-get
    if outcome == "boom":
        raise RuntimeError("after writing")
    return Response({"ok": True}, status_code=201)


@pytest.fixture(scope="module")
def tx_client(demo: Any) -> Iterator[TestClient[Any]]:
    from baoxue.platform.app import create_app

    with TestClient(create_app(demo, extra_routes=[write_then_answer])) as c:
        yield c


def _exists(settings: Any, name: str) -> bool:
    with cross_township_session("tests: committed?", settings) as s:
        return bool(s.scalar(select(func.count()).where(Village.name == name)))


@pytest.mark.parametrize(("outcome", "status", "kept"), [
    ("created", 201, True), ("redirect", 303, True), ("refused", 400, False), ("boom", 500, False),
])
def test_the_outcome_decides(tx_client: TestClient[Any], persona: Any, demo: Any, outcome: str, status: int,
                             kept: bool) -> None:
    admin = persona("bd_admin")
    name = f"事务村{outcome}"
    r = tx_client.post(f"/api/test-tx/{outcome}/{name}", headers={"Authorization": f"Bearer {admin.token}"},
                       follow_redirects=False)
    assert r.status_code == status, r.text
    assert _exists(demo, name) is kept


def test_a_refused_page_form_keeps_nothing(client: Any, demo: Any) -> None:
    """The village form answers a duplicate with 400 and its errors; nothing of it is committed."""
    from tests.platform.test_identity import page_login

    page_login(client, "bd_admin", "baoxue2026")
    token = client.cookies.get("csrftoken")
    r = client.post("/admin/villages", data={"name": "", "code": "X9", "_csrf_token": token})
    assert r.status_code == 400 and "不能为空" in r.text
    with cross_township_session("tests: nothing kept", demo) as s:
        assert s.scalar(select(func.count()).where(Village.code == "X9")) == 0
    client.cookies.clear()
