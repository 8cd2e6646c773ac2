"""The roster import, export and sample, through the service, on real workbooks (openpyxl, xlwt).

Each test works in a fresh school of 板当镇 inside a transaction that is rolled back, as that
school's academic office would (the session's scope is the school).
"""

from __future__ import annotations

from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from baoxue.platform.audit import AuditEvent
from baoxue.platform.errors import InvalidInput
from baoxue.platform.imports import ImportRejected
from baoxue.tenants.rosters import service
from baoxue.tenants.rosters.checks import parse_class
from baoxue.tenants.rosters.events import Event
from baoxue.tenants.students.models import Student
from tests.tenants.rosters.conftest import HEADERS, School, birth_for, new_id, pupil, roster


def _problems(rejected: ImportRejected) -> dict[str, str]:
    """{"F3": reason}: each problem at its cell (a whole row's as "3:3")."""
    return {f"{p.column}{p.row}" if p.column else f"{p.row}:{p.row}": p.message for p in rejected.problems}


def _letter(header: str) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(HEADERS.index(header) + 1)


def _rejected(school: School, data: bytes) -> ImportRejected:
    with pytest.raises(ImportRejected) as caught:
        school.import_(data)
    return caught.value


# --- clean files, as the national system writes them --------------------------------------------

def test_a_roster_with_names_imports(school: School) -> None:
    rows = [pupil("张小明"), pupil("李小红", male=False, 是否留守儿童="双亲留守儿童", 就读方式="住校"),
            pupil("王小刚", 2, "二年级(1)班", 残疾类型="肢体残疾", 是否孤儿="是")]
    report = school.import_(roster(rows))
    assert (report.rows, report.created, report.updated, report.unchanged) == (3, 3, 0, 0)
    assert set(report.classes_created) == {"一年级（1）班", "二年级（1）班"}
    students = school.students()
    red = students["李小红"]
    assert (red.gender, red.ethnicity, red.id_type, red.left_behind, red.is_boarding) == ("女", "苗族", "1", 2, True)
    assert red.student_number == "G" + red.id_number
    assert red.family1.name == "李大山" and red.family1.is_guardian and red.family1.relation == "父亲"
    assert red.family2.work_unit == "电子厂" and not red.family2.is_guardian
    assert red.distance_km == 1.5 and red.entry_month.endswith("09") and red.status == "01"
    assert (students["王小刚"].disability, students["王小刚"].is_orphan) == ("4", True)
    classes = school.classes()
    assert students["王小刚"].class_id == classes["二年级（1）班"].id
    # 现住址 names 板当村: that is where the child lives.
    village = school.session.execute(select(Student.residence_village_id).where(Student.id == red.id)).scalar()
    from baoxue.tenants.tenancy.models import Village

    assert school.session.get(Village, village).name == "板当村"


def test_a_roster_with_codes_imports_the_same_values(school: School) -> None:
    born = birth_for(1, offset_days=20)
    coded = pupil("赵小兰", male=False, birth=born, 出生日期=f"{born:%Y-%m-%d}", 性别="2", 民族="06", 身份证件类型="1", 是否留守儿童="1", 就读方式="2",
                  户口性质="1", 是否孤儿="1", 残疾类型="5", 是否需要申请资助="1", 是否享受一补="0", 年级="11",
                  成员1是否监护人="1", 成员1身份证件类型="1", 成员1关系="52")
    report = school.import_(roster([coded]))
    assert report.created == 1
    s = school.students()["赵小兰"]
    assert (s.gender, s.ethnicity, s.id_type, s.left_behind, s.is_boarding, s.hukou_nature) == ("女", "苗族", "1", 1,
                                                                                              True, "1")
    assert (s.is_orphan, s.disability, s.needs_aid, s.receives_subsidy) == (True, "5", True, False)
    assert (s.family1.is_guardian, s.family1.relation, s.family1.id_type) == (True, "母亲", "1")
    assert s.birth_date == born


def test_numbers_typed_as_numbers_and_real_date_cells_are_read(school: School) -> None:
    p = pupil("钱小多")
    birth = birth_for(1)
    data = roster([p], raw={(0, "性别"): 1, (0, "出生日期"): birth, (0, "是否孤儿"): 0, (0, "联系电话"): 13812345678,
                            (0, "入学年月"): 202509, (0, "上下学距离"): 2.5})
    report = school.import_(data)
    assert report.created == 1
    s = school.students()["钱小多"]
    assert (s.gender, s.birth_date, s.phone, s.entry_month, s.distance_km) == ("男", birth, "13812345678", "202509",
                                                                              2.5)


def test_headers_on_row_three_in_another_spelling_and_unused_columns_import(school: School) -> None:
    rename = {"身份证件号": "身份证号", "全国学籍号": "学籍号", "成员1姓名": "家庭成员或监护人1姓名",
              "成员1关系": "家庭成员或监护人1关系", "成员1联系电话": "家庭成员或监护人1联系电话"}
    data = roster([pupil("孙小美", male=False)], rename=rename, sheet="Sheet1",
                  title_rows=[["全国中小学生学籍信息管理系统 学生信息"], ["导出日期：2026-11-02"]],
                  extra={"出生地": "贵州省", "籍贯": "贵州", "政治面貌": "群众", "健康状况": "健康"})
    report = school.import_(data)
    assert report.created == 1
    s = school.students()["孙小美"]
    assert s.family1.name == "孙大山" and s.family1.phone == "13900001111" and len(s.id_number) == 18


def test_an_xls_file_imports(school: School) -> None:
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook()
    ws = book.add_sheet("学生")
    ws.write(0, 0, "学生基本信息")
    rows = [pupil("周小xls"), pupil("吴小xls", male=False)]
    for c, header in enumerate(HEADERS):
        ws.write(2, c, header)
        for r, row in enumerate(rows, start=3):
            ws.write(r, c, row[header])
    out = BytesIO()
    book.save(out)
    report = school.import_(out.getvalue())
    assert report.created == 2 and {"周小xls", "吴小xls"} <= set(school.students())


# --- faults: every one at its row and column, and nothing applied -----------------------------------

def test_every_fault_is_reported_at_its_cell_and_nothing_is_applied(school: School) -> None:
    good = pupil("好学生")
    wrong_digit = pupil("错校验")
    wrong_digit["身份证件号"] = wrong_digit["身份证件号"][:-1] + ("0" if wrong_digit["身份证件号"][-1] != "0" else "1")
    wrong_digit["全国学籍号"] = ""
    unreal = pupil("假日期", 出生日期="20190230")
    future = pupil("未来人", 出生日期="20990101", 身份证件类型="护照", 身份证件号="E12345678", 全国学籍号="L" + "1" * 18)
    too_old = pupil("年龄大", birth=birth_for(1, offset_days=-365 * 9))
    mismatch = pupil("号不符")
    mismatch["全国学籍号"] = "G" + new_id(birth_for(1))
    lost = pupil("丢位数")
    lost_text = pupil("丢位数二")
    twice = dict(good, 姓名="好学生重")
    grade7 = pupil("七年级", 7, "七年级(1)班")
    nameless = pupil("")
    other_type = pupil("无证件", 身份证件类型="其他", 身份证件号="", 全国学籍号="J" + "5" * 18, 成员1身份证件号="")
    rows = [good, wrong_digit, unreal, future, too_old, mismatch, lost, lost_text, twice, grade7, nameless, other_type]
    data = roster(rows, raw={(6, "身份证件号"): 5.22727201503150e17, (7, "身份证件号"): "5.22727E+17"})
    rejected = _rejected(school, data)
    found = _problems(rejected)
    expected = {
        f"{_letter('身份证件号')}3": "校验位",
        f"{_letter('出生日期')}4": "不是真实的日期",
        f"{_letter('出生日期')}5": "晚于今天",
        f"{_letter('出生日期')}6": "与一年级不符",
        f"{_letter('全国学籍号')}7": "不一致",
        f"{_letter('身份证件号')}8": "已经丢失",
        f"{_letter('身份证件号')}9": "已经丢失",
        f"{_letter('身份证件号')}10": "第 2 行是同一个学生",
        f"{_letter('年级')}11": "没有七年级",
        f"{_letter('姓名')}12": "姓名不能为空",
        f"{_letter('成员1身份证件号')}13": "成员1（监护人）的身份证件号",
    }
    for cell, words in expected.items():
        assert words in found.get(cell, ""), (cell, found.get(cell), found)
    assert set(found) == set(expected), found
    assert "5.22727E+17" in found[f"{_letter('身份证件号')}9"]
    assert school.students() == {} and school.classes() == {}


def test_id_and_birth_date_and_gender_must_agree(school: School) -> None:
    p = pupil("不一致", male=True)
    p["出生日期"] = f"{birth_for(1, offset_days=101):%Y%m%d}"
    q = pupil("性别错", male=True, 性别="女")
    found = _problems(_rejected(school, roster([p, q])))
    assert "与身份证件号中的出生日期" in found[f"{_letter('出生日期')}2"]
    assert "第 17 位表示男" in found[f"{_letter('性别')}3"]


def test_unknown_codes_and_class_spellings_are_problems(school: School) -> None:
    rows = [pupil("甲", 性别="3"), pupil("乙", 是否孤儿="也许"), pupil("丙", 班级="火箭"),
            pupil("丁", 班级="二年级(1)班"), pupil("戊", 年级="十年级")]
    found = _problems(_rejected(school, roster(rows)))
    assert "性别“3”无法识别" in found[f"{_letter('性别')}2"]
    assert "是否孤儿“也许”无法识别" in found[f"{_letter('是否孤儿')}3"]
    assert "与年级“一年级”不一致" in found[f"{_letter('班级')}5"]
    assert "年级“十年级”无法识别" in found[f"{_letter('年级')}6"]
    # A class without a number is a class name of its own (created like any other): 火箭 is taken.
    assert f"{_letter('班级')}4" not in found


def test_a_missing_required_column_is_reported(school: School) -> None:
    headers = [h for h in HEADERS if h != "出生日期"]
    rejected = _rejected(school, roster([pupil("缺列")], headers=headers))
    assert [p.message for p in rejected.problems] == ["缺少“出生日期”列：第 1 行应有此表头。"]


def test_a_file_that_is_not_a_workbook_or_has_no_pupils_is_refused(school: School) -> None:
    with pytest.raises(InvalidInput) as caught:
        school.import_(b"name,id\n")
    assert "不是有效的 Excel" in caught.value.errors["file"]
    with pytest.raises(InvalidInput) as caught:
        school.import_(roster([]))
    assert "没有学生" in caught.value.errors["file"]


def test_the_error_workbook_marks_each_bad_cell(school: School) -> None:
    bad = pupil("坏校验")
    bad["身份证件号"] = bad["身份证件号"][:-1] + ("0" if bad["身份证件号"][-1] != "0" else "1")
    bad["全国学籍号"] = ""
    rejected = _rejected(school, roster([pupil("好的"), bad], title_rows=[["名册"]]))
    book = load_workbook(BytesIO(rejected.error_workbook() or b""))
    sheet = next(ws for ws in book.worksheets if ws.title == "学生信息")
    cell = sheet[f"{_letter('身份证件号')}4"]  # the title row above: the header is row 2
    assert cell.value == bad["身份证件号"]
    assert cell.fill.fgColor.rgb.endswith("FDE2E1")
    assert cell.comment is not None and "校验位" in cell.comment.text
    assert sheet[f"{_letter('身份证件号')}3"].comment is None
    reasons = [c.value for c in sheet[4] if isinstance(c.value, str) and "校验位" in c.value]
    assert reasons and sheet.cell(row=4, column=sheet.max_column).value == reasons[-1]
    described = service.described_problems(rejected)
    assert [(p.row, p.column, p.field) for p in described] == [(4, _letter("身份证件号"), "身份证件号")]


# --- applying a clean file ----------------------------------------------------------------------------

def test_reimporting_the_same_file_changes_nothing_and_says_so(school: School) -> None:
    data = roster([pupil("一号"), pupil("二号", male=False), pupil("三号", 2, "二年级(1)班")])
    school.import_(data)
    before = {n: s.updated_at for n, s in school.students().items()}
    again = school.import_(data)
    assert (again.created, again.updated, again.unchanged, again.classes_created) == (0, 0, 3, ())
    assert again.changed_nothing and "没有任何改动" in again.summary
    assert {n: s.updated_at for n, s in school.students().items()} == before


def test_a_changed_phone_updates_one_row_in_place(school: School) -> None:
    rows = [pupil("甲"), pupil("乙"), pupil("丙")]
    school.import_(roster(rows))
    ids = {n: s.id for n, s in school.students().items()}
    rows[1] = dict(rows[1], 联系电话="13700009999")
    report = school.import_(roster(rows))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    students = school.students()
    assert students["乙"].phone == "13700009999" and {n: s.id for n, s in students.items()} == ids


def test_two_rows_reaching_one_record_by_different_keys_are_a_problem(school: School) -> None:
    first = pupil("唯一", 全国学籍号="J" + "7" * 18)
    school.import_(roster([first]))
    impostor = pupil("冒名", 全国学籍号=first["全国学籍号"])
    found = _problems(_rejected(school, roster([dict(first, 全国学籍号=""), impostor])))
    assert "与第 2 行是平台上的同一个学生" in found[f"{_letter('身份证件号')}3"]


def test_a_column_the_file_lacks_is_left_as_it_was(school: School) -> None:
    row = pupil("留原值", 联系电话="13700001111")
    school.import_(roster([row]))
    headers = [h for h in HEADERS if h not in ("联系电话", "成员2姓名")]
    report = school.import_(roster([dict(row, 联系电话="")], headers=headers))
    assert report.unchanged == 1
    s = school.students()["留原值"]
    assert s.phone == "13700001111" and s.family2.name == "李小芳"


def test_a_student_missing_from_the_file_is_listed_not_deleted(school: School) -> None:
    rows = [pupil("留下"), pupil("不见了", male=False)]
    school.import_(roster(rows))
    report = school.import_(roster(rows[:1]))
    assert [(m.name, m.class_name, m.status) for m in report.missing] == [("不见了", "一年级（1）班", "在读")]
    assert "不见了" in school.students()


def test_class_spellings_map_to_one_class(school: School) -> None:
    spellings = ["一年级(1)班", "一年级（1）班", "1年级1班", "一(1)班", "(1)班", "1班", "1"]
    rows = [pupil(f"拼写{i}", 1, klass) for i, klass in enumerate(spellings)]
    report = school.import_(roster(rows))
    assert report.classes_created == ("一年级（1）班",)
    assert {s.class_id for s in school.students().values()} == {school.classes()["一年级（1）班"].id}
    assert parse_class("初一(2)班") == (7, 2) and parse_class("七年级3班") == (7, 3) and parse_class("十二班") == (None, 12)


def test_an_existing_class_is_matched_and_a_new_one_created_and_reported(school: School) -> None:
    from baoxue.platform.clock import school_year
    from baoxue.tenants.tenancy.service import do_create_class

    existing = do_create_class(school.session, school_id=school.id, grade=1, name="一年级(1)班",
                               entry_year=school_year())
    report = school.import_(roster([pupil("旧班", 1, "一年级（1）班"), pupil("新班", 2, "二（2）班")]))
    assert report.classes_created == ("二年级（2）班",)
    classes = school.classes()
    assert set(classes) == {"一年级(1)班", "二年级（2）班"} and classes["二年级（2）班"].grade == 2
    students = school.students()
    assert students["旧班"].class_id == existing.id and students["新班"].class_id == classes["二年级（2）班"].id


def test_the_import_is_audited_with_its_counts(school: School) -> None:
    school.import_(roster([pupil("审计")]))
    row = school.session.scalars(select(AuditEvent).where(AuditEvent.event == str(Event.IMPORTED))
                                 .order_by(AuditEvent.id.desc()).limit(1)).one()
    assert (row.entity_type, row.entity_id) == ("roster", str(school.id))
    assert row.changes["created"] == 1 and row.changes["classes_created"] == ["一年级（1）班"]


# --- other schools of the township ------------------------------------------------------------------------

def test_a_child_enrolled_at_another_school_is_refused_with_its_name(school: School) -> None:
    other = school.create_school("primary")
    child = pupil("两校生")
    school.import_(roster([child]), other.id)
    rejected = _rejected(school, roster([pupil("新来的"), child]))
    found = _problems(rejected)
    assert f"在{other.name}的学籍状态为“在读”" in found[f"{_letter('身份证件号')}3"]
    assert set(found) == {f"{_letter('身份证件号')}3"}
    assert school.students() == {} and "两校生" in school.students(other.id)


def test_a_child_who_left_another_school_moves_here(school: School) -> None:
    primary = school.create_school("primary")
    middle = school.create_school("middle")
    graduate = pupil("毕业生", 6, "六年级(1)班")
    school.import_(roster([graduate]), primary.id)
    record = school.students(primary.id)["毕业生"]
    record.status = "07"  # graduated from the primary school
    school.session.flush()
    moved = dict(graduate, 年级="七年级", 班级="七年级(1)班", 联系电话="13600000000",
                 出生日期=graduate["出生日期"])
    # A pupil who graduated this summer is in 七年级 now: a year older than the 六年级 row said.
    try:
        report = school.import_(roster([moved]), middle.id)
    except ImportRejected as e:
        raise AssertionError(e.problems) from None
    assert (report.created, report.updated) == (0, 1)
    assert [(a.name, a.from_school, a.previous_status) for a in report.arrived] == [("毕业生", primary.name, "毕业")]
    here = school.students(middle.id)["毕业生"]
    assert (here.id, here.status, here.phone) == (record.id, "01", "13600000000")
    assert "毕业生" not in school.students(primary.id)


def test_a_child_of_another_school_is_read_only_for_the_refusal(school: School) -> None:
    """The importer's scope still cannot read the other school's child through the ORM."""
    other = school.create_school("primary")
    school.import_(roster([pupil("看不见")]), other.id)
    session = school.as_school()
    assert session.scalars(select(Student).where(Student.name == "看不见")).all() == []


# --- export, template, sample ---------------------------------------------------------------------------

def test_export_then_import_changes_nothing(school: School) -> None:
    rows = [pupil("导出一", 是否留守儿童="单亲留守儿童", 上下学距离=""), pupil("导出二", male=False, 就读方式="住校"),
            pupil("导出三", 3, "三年级(2)班", 成员2姓名="", 成员2关系="", 成员2联系电话="", 成员2是否监护人="",
                  成员2身份证件类型="", 成员2现住址="", 成员2工作单位="", 现住址="=HYPERLINK(\"x\")")]
    school.import_(roster(rows))
    school.as_school()
    data, filename = service.do_export_roster(school.session, school.id)
    assert filename.endswith(".xlsx") and school.name in filename
    book = load_workbook(BytesIO(data))
    ws = book.active
    assert [c.value for c in ws[1]] == HEADERS
    values = {row[0].value: row for row in ws.iter_rows(min_row=2)}
    first = values["导出一"]
    assert first[HEADERS.index("性别")].value == "男" and first[HEADERS.index("身份证件类型")].value == "居民身份证"
    formula_like = values["导出三"][HEADERS.index("现住址")]
    assert formula_like.data_type == "s" and formula_like.quotePrefix  # shown as text, never run
    report = school.import_(data)
    assert (report.created, report.updated, report.unchanged, report.missing) == (0, 0, 3, ())


def test_the_export_is_audited(school: School) -> None:
    school.import_(roster([pupil("审导出")]))
    school.as_school()
    service.do_export_roster(school.session, school.id)
    events = set(school.session.scalars(select(AuditEvent.event).where(AuditEvent.entity_id == str(school.id))))
    assert str(Event.EXPORTED) in events


def test_the_template_has_headers_a_sample_row_and_dropdowns() -> None:
    book = load_workbook(BytesIO(service.roster_template()))
    assert book.sheetnames == ["说明", "学籍名册"]
    ws = book["学籍名册"]
    assert [c.value for c in ws[1]] == HEADERS
    assert ws.cell(row=2, column=1).value == "王小明"
    lists = {str(v.sqref).split(":")[0]: v.formula1 for v in ws.data_validations.dataValidation}
    assert "男" in lists[f"{_letter('性别')}2"] and "单亲留守儿童" in lists[f"{_letter('是否留守儿童')}2"]
    assert "居民身份证" in lists[f"{_letter('身份证件类型')}2"]


def test_the_sample_file_is_refused_at_the_wrong_digit_then_applies_when_fixed(school: School) -> None:
    school.import_(roster([pupil("样一"), pupil("样二"), pupil("样三", male=False)]))
    school.as_school()
    data, _name = service.do_export_sample_roster(school.session, school.id)
    rejected = _rejected(school, data)
    assert len(rejected.problems) == 1 and "校验位" in rejected.problems[0].message
    # The clerk deletes the bad row (the last) and uploads again.
    book = load_workbook(BytesIO(data))
    ws = book.active
    ws.delete_rows(ws.max_row)
    fixed = BytesIO()
    book.save(fixed)
    report = school.import_(fixed.getvalue())
    assert (report.created, report.updated, report.unchanged) == (2, 1, 2)
