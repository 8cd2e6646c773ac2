"""Cases with notices for the notices tests (and the audit recipes of tests/platform/test_audit_actions.py)."""

from __future__ import annotations

import subprocess
from datetime import date
from typing import Any

from sqlalchemy import select

from baoxue.platform.db import cross_township_session
from tests.tenants.status_changes.helpers import class_id, login_actor, school_ids


def free_student(settings: Any, township_id: int, school: str = "mid", grade: int = 8, n: int = 1,
                 taken: set[int] | None = None) -> int:
    """An enrolled child of the class with a guardian and no case at all (the run shares its database)."""
    from baoxue.tenants.cases.models import Case
    from baoxue.tenants.students.models import Student

    klass = class_id(settings, school_ids(settings, township_id)[school], grade, n)
    with cross_township_session("tests: a child without a case", settings) as s:
        ids = s.scalars(select(Student.id).where(
            Student.class_id == klass, Student.status == "01", Student.__table__.c.family1_name != "",
            Student.id.not_in(select(Case.student_id))).order_by(Student.id.desc())).all()
    return next(i for i in ids if i not in (taken or set()))


def open_case(session: Any, settings: Any, township_id: int, *, prefix: str = "bd", school: str = "mid",
              grade: int = 8, first_absent_on: date | None = None, taken: set[int] | None = None) -> Any:
    """A case opened by the school's academic office through the case service, in `session`."""
    from baoxue.platform.db import set_tenant
    from baoxue.tenants.cases.service import do_open_case

    actor = login_actor(settings, f"{prefix}_{school}_academic")
    set_tenant(session, actor.context())
    student = free_student(settings, township_id, school, grade, taken=taken)
    case = do_open_case(session, actor, student, note="连续多日未到校，电话联系不上家长。")
    if first_absent_on is not None:
        # Set on the row: the case service's own handling of the date is its tests' business.
        case.first_absent_on = first_absent_on
        session.flush()
    return case


def pdf_text(pdf: bytes) -> str:
    """The PDF's text as pdftotext (poppler-utils) reads it, on one line per paragraph or so."""
    done = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True)
    return "".join(done.stdout.decode("utf-8").split())  # CJK lines wrap anywhere: compare without breaks


def pdf_fonts(pdf: bytes) -> list[list[str]]:
    """`pdffonts` rows: [name, type..., emb, sub, uni, object, generation]."""
    done = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=False)
    if done.returncode != 0:  # older poppler reads no stdin: go through a file
        import tempfile

        with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
            f.write(pdf)
            f.flush()
            done = subprocess.run(["pdffonts", f.name], capture_output=True, check=True)
    lines = done.stdout.decode("utf-8").splitlines()[2:]
    return [line.split() for line in lines if line.strip()]


def audit_recipes() -> dict[str, tuple[Any, Any]]:
    """The notices' `do_*` actions: {action: (recipe, event)}; each recipe takes test_audit_actions' `World`."""
    from baoxue.tenants.cases import notices
    from baoxue.tenants.cases.events import Event

    def issue(w: Any) -> Any:
        case = open_case(w.session, w.settings, w.township_id)
        return notices.do_issue_notice(w.session, login_actor(w.settings, "bd_mid_academic"), case.id, "persuasion",
                                       settings=w.settings)

    def serve(w: Any) -> None:
        from baoxue.platform.clock import clock

        notice = issue(w)
        notices.do_serve_notice(w.session, login_actor(w.settings, "bd_mid_academic"), notice.id, clock.now(),
                                "张某（父亲）", "板当村", "直接送达", "王老师", settings=w.settings)

    def download(w: Any) -> None:
        notices.do_download_notice(w.session, issue(w), "notice", w.settings)

    return {
        "notices.do_issue_notice": (issue, Event.NOTICE_ISSUED),
        "notices.do_serve_notice": (serve, Event.NOTICE_SERVED),
        "notices.do_download_notice": (download, Event.NOTICE_DOWNLOADED),
    }
