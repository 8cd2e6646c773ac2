"""Children, pictures and audit recipes for the case tests (and tests/platform/test_audit_actions.py)."""

from __future__ import annotations

import io
from typing import Any

from sqlalchemy import select

from baoxue.platform.clock import clock
from baoxue.platform.db import cross_township_session, set_tenant
from tests.tenants.status_changes.helpers import PDF, class_id, login_actor, school_ids


def jpeg(*, gps: bool = False, size: tuple[int, int] = (64, 48)) -> bytes:
    """A small JPEG; with `gps`, EXIF carrying a position (a family's home, as a phone writes it)."""
    from PIL import Image

    image = Image.new("RGB", size, (200, 120, 40))
    out = io.BytesIO()
    if gps:
        exif = Image.Exif()
        exif[0x010F] = "TestPhone"  # Make
        gps_ifd = {1: "N", 2: (26.0, 30.0, 15.5), 3: "E", 4: (106.0, 42.0, 7.25)}
        exif[0x8825] = gps_ifd
        image.save(out, "JPEG", exif=exif.tobytes())
    else:
        image.save(out, "JPEG")
    return out.getvalue()


def caseless_child(settings: Any, class_id_: int, *, taken: set[int] | None = None) -> int:
    """An enrolled child of the class with no case at all (the run shares its database)."""
    from baoxue.tenants.cases.models import Case
    from baoxue.tenants.students.models import Student

    with cross_township_session("tests: a child without a case", settings) as s:
        ids = s.scalars(select(Student.id).where(
            Student.class_id == class_id_, Student.status == "01", Student.incoming_school_id.is_(None),
            Student.id.not_in(select(Case.student_id))).order_by(Student.id.desc())).all()
    return next(i for i in ids if i not in (taken or set()))


def mid_child(settings: Any, township_id: int, grade: int = 8, n: int = 2) -> int:
    return caseless_child(settings, class_id(settings, school_ids(settings, township_id)["mid"], grade, n))


def audit_recipes() -> dict[str, tuple[Any, Any]]:
    """The case file's `do_*` actions for tests/platform/test_audit_actions.py: {action: (recipe, event)}."""
    from baoxue.tenants.cases import registers, service
    from baoxue.tenants.cases.events import Event

    def actor(w: Any) -> Any:
        found = login_actor(w.settings, "bd_mid_academic")
        set_tenant(w.session, found.context())
        return found

    def opened(w: Any) -> Any:
        return service.do_open_case(w.session, actor(w), mid_child(w.settings, w.township_id), note="审计。")

    def reported(w: Any) -> Any:
        case = opened(w)
        return service.do_move_stage(w.session, actor(w), case.id, "reported", report="absence_report",
                                     first_absent_on=case.opened_at.date(), reason_code="weary")

    def visit(w: Any) -> Any:
        case = opened(w)
        return service.do_record_visit(w.session, actor(w), case.student_id, case_id=case.id, mode="phone",
                                       met="父亲", found="审计。", reason_code="weary",
                                       photos=[service.Upload(jpeg(), "a.jpg")], settings=w.settings)

    def closed(w: Any) -> Any:
        case = opened(w)
        return service.do_close_case(w.session, actor(w), case.id, "died", closing_evidence="审计。",
                                     document=service.Upload(PDF, "死亡证明.pdf"), settings=w.settings)

    def photo(w: Any) -> None:
        from baoxue.tenants.cases.models import Photo

        v = visit(w)
        found = w.session.scalars(select(Photo).where(Photo.visit_id == v.id)).one()
        service.do_download_photo(w.session, found, w.settings)

    semester = registers.semester_on(clock.today())
    return {
        "service.do_open_case": (opened, Event.OPENED),
        "service.do_move_stage": (reported, Event.STAGE_MOVED),
        "service.do_record_entry": (lambda w: service.do_record_entry(w.session, actor(w), opened(w).id, "note",
                                                                      "审计。"), Event.ENTRY_RECORDED),
        "service.do_record_visit": (visit, Event.VISIT_RECORDED),
        "service.do_close_case": (closed, Event.CLOSED),
        "service.do_download_photo": (photo, Event.PHOTO_DOWNLOADED),
        "service.do_download_closing_document": (lambda w: service.do_download_closing_document(
            w.session, closed(w), w.settings), Event.DOCUMENT_DOWNLOADED),
        "registers.do_export_visit_register": (lambda w: (actor(w), registers.do_export_visit_register(
            w.session, semester)), Event.REGISTER_EXPORTED),
        "registers.do_export_dropout_register": (lambda w: (actor(w), registers.do_export_dropout_register(
            w.session)), Event.REGISTER_EXPORTED),
        "registers.do_export_persuasion_record": (lambda w: registers.do_export_persuasion_record(
            w.session, opened(w)), Event.REGISTER_EXPORTED),
    }
