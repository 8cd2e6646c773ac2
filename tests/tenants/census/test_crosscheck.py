"""The one cross-township question leaks nothing: probed as every role, it answers only for the
asking township's own children, and only with here / elsewhere / both / nowhere."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text

from baoxue.platform.db import TenantContext, cross_township_session, new_session
from baoxue.tenants.census.crosscheck import enrolment_check
from baoxue.tenants.census.models import CensusChild
from baoxue.tenants.students.models import Student
from baoxue.tenants.tenancy.demo import DEMO_USERS
from tests.tenants.status_changes.helpers import login_actor

ANSWERS = {"here", "elsewhere", "both", "nowhere"}


def _ids(settings: Any, township_id: int) -> set[str]:
    """Every ID number a township holds, on its lists or its rolls (read over the wall)."""
    with cross_township_session("tests: ids of a township", settings) as s:
        rolled = s.scalars(select(Student.id_number).where(Student.township_id == township_id,
                                                           Student.id_number.is_not(None)))
        listed = s.scalars(select(CensusChild.id_number).where(CensusChild.township_id == township_id))
        return set(rolled) | set(listed)


@pytest.mark.parametrize("user", [u for u in DEMO_USERS if u["township_code"] == "DEMO-BD"],
                         ids=lambda u: u["username"])
def test_every_role_learns_nothing_of_children_not_its_own(demo: Any, townships: dict[str, int],
                                                           user: dict[str, Any]) -> None:
    mine, theirs = _ids(demo, townships["DEMO-BD"]), _ids(demo, townships["DEMO-LG"])
    actor = login_actor(demo, user["username"])
    session = new_session(actor.context(), demo)
    try:
        answers = enrolment_check(session, sorted(mine | theirs))
    finally:
        session.rollback()
        session.close()
    assert set(answers) <= mine  # another township's children are not even answered "nowhere"
    assert set(answers) == mine  # and every child of one's own is
    assert {a.enrolled for a in answers.values()} <= ANSWERS
    # Only one's own pupils are told whether another township lists them.
    assert all(a.listed_elsewhere is None for a in answers.values() if a.enrolled in ("elsewhere", "nowhere"))


def test_a_child_of_this_census_on_another_roll_is_only_elsewhere(demo: Any, townships: dict[str, int]) -> None:
    """The demo's child living in 板当 and studying in 龙岗: the answer is the one word."""
    with cross_township_session("tests: the demo's child elsewhere", demo) as s:
        number = s.scalars(select(CensusChild.id_number).where(
            CensusChild.township_id == townships["DEMO-BD"], CensusChild.note.like("%外乡镇%"))).one()
    session = new_session(login_actor(demo, "bd_village1").context(), demo)
    try:
        assert enrolment_check(session, [number])[number].enrolled == "elsewhere"
    finally:
        session.close()


@pytest.fixture
def postgresql(demo: Any) -> Any:
    if not demo.effective_database_url.startswith("postgresql"):
        pytest.skip("the database function is PostgreSQL's; SQLite has no wall to cross")
    return demo


def test_the_function_is_narrow_and_owned_by_the_migration_role(postgresql: Any) -> None:
    with cross_township_session("tests: the function's definition", postgresql) as s:
        secdef, config, owner_super, public_exec, app_exec = s.execute(text(
            "SELECT p.prosecdef, p.proconfig, r.rolsuper, "
            "has_function_privilege('public', p.oid, 'EXECUTE'), "
            "has_function_privilege('baoxue_app', p.oid, 'EXECUTE') "
            "FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner WHERE p.proname = 'enrolment_check'")).one()
        columns = s.execute(text("SELECT * FROM enrolment_check(ARRAY[]::text[])")).keys()
    assert secdef and owner_super
    assert config == ["search_path=pg_catalog, public", "work_mem=64MB"]
    assert not public_exec and app_exec
    assert list(columns) == ["id_number", "enrolled", "listed_elsewhere"]


def test_the_runtime_role_may_execute_it_and_nothing_more(postgresql: Any, townships: dict[str, int]) -> None:
    session = new_session(TenantContext(), postgresql)  # no township chosen
    try:
        assert session.execute(text("SELECT count(*) FROM enrolment_check(ARRAY['522731201301010011'])")).scalar() == 0
        session.rollback()
        for statement in ("CREATE OR REPLACE FUNCTION enrolment_check(ids text[]) RETURNS TABLE "
                          "(id_number text, enrolled text, listed_elsewhere boolean) LANGUAGE sql AS $$ SELECT "
                          "NULL::text, NULL::text, NULL::boolean $$",
                          "ALTER FUNCTION enrolment_check(text[]) SECURITY INVOKER",
                          "DROP FUNCTION enrolment_check(text[])"):
            with pytest.raises(Exception, match="must be owner|permission denied"):
                session.execute(text(statement))
            session.rollback()
    finally:
        session.close()
