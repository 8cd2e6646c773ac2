"""Creating a township and resetting a password: deployment work from the command line."""

from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from baoxue.platform.audit import AuditEvent
from baoxue.platform.cli import main
from baoxue.platform.db import cross_township_session
from baoxue.tenants.tenancy.models import Department, User
from tests.tenants.tenancy.conftest import unique


def test_a_new_township_gets_its_departments_and_an_administrator_who_can_log_in(
        demo: Any, client: Any, townships: dict[str, int]) -> None:
    code, username = f"T-{unique()}", f"adm_{unique()}"
    result = CliRunner().invoke(main, ["township", "create", "测试乡", "--code", code, "--county", "某县",
                                       "--admin-username", username, "--admin-name", "测试管理员",
                                       "--admin-password", "admin2026pw"])
    assert result.exit_code == 0, result.output
    token = client.post("/api/auth/token", json={"username": username, "password": "admin2026pw"}).json()["token"]
    me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["membership"]["role"] == "system_admin" and me["membership"]["township"] == "测试乡"
    departments = client.get("/api/departments", headers={"Authorization": f"Bearer {token}"}).json()
    assert len(departments) == 12
    villages = client.get("/api/villages", headers={"Authorization": f"Bearer {token}"}).json()
    assert villages == []  # a new township sees none of the demo townships' villages
    with cross_township_session("tests: check", demo) as s:
        township_id = me["membership"]["township_id"]
        assert s.scalar(select(AuditEvent.id).where(AuditEvent.event == "tenancy:township:created",
                                                    AuditEvent.township_id == township_id))
        assert len(s.scalars(select(Department.id).where(Department.township_id == township_id)).all()) == 12


def test_bad_or_duplicate_input_changes_nothing_and_names_the_field(demo: Any) -> None:
    with cross_township_session("tests: count", demo) as s:
        before = len(s.scalars(select(User.id)).all())
    duplicate = CliRunner().invoke(main, ["township", "create", "重复乡", "--code", "DEMO-BD",
                                          "--admin-username", f"x_{unique()}", "--admin-name", "某",
                                          "--admin-password", "admin2026pw"])
    assert duplicate.exit_code != 0 and "code" in duplicate.output and "已存在" in duplicate.output
    bad = CliRunner().invoke(main, ["township", "create", "坏乡", "--code", f"B-{unique()}",
                                    "--admin-username", "bd_leader", "--admin-name", "某",
                                    "--admin-password", "admin2026pw"])
    assert bad.exit_code != 0 and "username" in bad.output
    with cross_township_session("tests: count", demo) as s:
        assert len(s.scalars(select(User.id)).all()) == before


@pytest.fixture
def locked_user(demo: Any, client: Any) -> str:
    username = f"lk_{unique()}"
    CliRunner().invoke(main, ["township", "create", "锁定乡", "--code", f"L-{unique()}", "--admin-username",
                              username, "--admin-name", "某", "--admin-password", "admin2026pw"])
    for _ in range(demo.login_max_failures):
        client.post("/api/auth/token", json={"username": username, "password": "wrong-one-1"})
    return username


def test_reset_password_lifts_the_lock(locked_user: str, client: Any) -> None:
    assert client.post("/api/auth/token", json={"username": locked_user,
                                                "password": "admin2026pw"}).status_code == 401
    result = CliRunner().invoke(main, ["user", "reset-password", locked_user, "--password", "fresh2026pw"])
    assert result.exit_code == 0, result.output
    assert client.post("/api/auth/token", json={"username": locked_user,
                                                "password": "fresh2026pw"}).status_code == 201
    unknown = CliRunner().invoke(main, ["user", "reset-password", "nobody_here", "--password", "fresh2026pw"])
    assert unknown.exit_code != 0 and "没有这个用户名" in unknown.output
