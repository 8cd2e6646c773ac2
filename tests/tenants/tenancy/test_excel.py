"""The structure workbook: the template downloads and opens; a clean file imports all; a bad one nothing."""

from __future__ import annotations

import threading
import html
import re
from io import BytesIO
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import event

from baoxue.platform.errors import Conflict, InvalidInput
from baoxue.platform.clock import school_year
from baoxue.tenants.tenancy import excel
from tests.conftest import BACKEND
from tests.tenants.tenancy.conftest import unique as _u



@pytest.fixture(scope="module")
def template(admin: Any) -> bytes:
    r = admin.get("/api/imports/structure/template")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "attachment" in r.headers["content-disposition"]
    return r.content


def _filled(template: bytes, rows: dict[str, list[list[Any]]]) -> bytes:
    """The downloaded template with rows appended under each sheet's header, as a clerk would."""
    book = load_workbook(BytesIO(template))
    for sheet, values in rows.items():
        for row in values:
            book[sheet].append(row)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _upload(admin: Any, data: bytes, name: str = "结构.xlsx") -> Any:
    return admin.post("/api/imports/structure", files={"file": (name, data, "application/octet-stream")})


def _good_rows(s: str) -> dict[str, list[list[Any]]]:
    """Two new villages, two new schools (one in an existing village), classes, and four people."""
    Y = school_year()  # entry years agree with grades in the school year under way
    return {
        "村委会": [[f"东坡村{s}", "522727104301"], [f"西岭村{s}", None]],
        "学校": [[f"东坡小学{s}", "小学", "2522710401", f"东坡村{s}"], [f"西岭中学{s}", "初级中学", None, "板当村"]],
        "班级": [[f"东坡小学{s}", "一年级", "一年级（1）班", Y], [f"东坡小学{s}", 2, "二年级（1）班", f"{Y - 1}年"],
                [f"西岭中学{s}", "初一", "七年级（1）班", Y], ["板当中学", 9, f"九年级（{s}）班", Y - 2]],
        "人员": [[f"e_{s}_1", "陈东坡", "13800001111", "Baoxue2026x", "班主任", f"东坡小学{s}", "一年级（1）班", "班主任"],
                [f"e_{s}_2", "韦西岭", 13800002222, "Baoxue2026x", "村干部", f"西岭村{s}", None, "村委会主任"],
                [f"e_{s}_3", "龙所长", None, "Baoxue2026x", "部门工作人员", "派出所", None, None],
                [f"e_{s}_4", "石组长", None, "Baoxue2026x", "领导小组组长", None, None, None]],
    }


def _token(admin: Any, username: str) -> Any:
    return admin.client.post("/api/auth/token", json={"username": username, "password": "Baoxue2026x"})


# --- the template ------------------------------------------------------------------------------

def test_template_opens_with_its_sheets_headers_and_dropdowns(template: bytes) -> None:
    book = load_workbook(BytesIO(template))
    assert book.sheetnames == ["说明", "村委会", "学校", "班级", "人员"]
    headers = {name: [c.value for c in book[name][1]] for name in book.sheetnames[1:]}
    assert headers == {
        "村委会": ["名称", "编码"],
        "学校": ["名称", "类型", "编码", "所在村"],
        "班级": ["学校", "年级", "班级名称", "入学年份"],
        "人员": ["用户名", "姓名", "手机号", "初始密码", "角色", "所属单位", "班级", "职务"],
    }
    assert book["学校"]["A1"].font.bold and book["人员"].column_dimensions["A"].width >= 12
    kinds = next(v for v in book["学校"].data_validations.dataValidation if "B2" in str(v.sqref))
    assert "九年一贯制学校" in kinds.formula1
    roles = next(v for v in book["人员"].data_validations.dataValidation if "E2" in str(v.sqref))
    assert "班主任" in roles.formula1
    assert "全部无误" in "".join(str(c.value or "") for c in book["说明"]["A"])


def test_template_is_for_writers_only(persona: Any) -> None:
    assert persona("bd_leader").get("/api/imports/structure/template").status_code == 403


# --- a clean file ------------------------------------------------------------------------------

def test_a_clean_file_imports_everything(admin: Any, template: bytes) -> None:
    s = _u()
    r = _upload(admin, _filled(template, _good_rows(s)))
    assert r.status_code == 200, r.text
    assert r.json() == {"villages": 2, "schools": 2, "classes": 4, "people": 4}

    villages = {v["name"]: v for v in admin.get("/api/villages").json()}
    schools = {x["name"]: x for x in admin.get("/api/schools").json()}
    assert villages[f"东坡村{s}"]["code"] == "522727104301"
    assert schools[f"东坡小学{s}"]["village_id"] == villages[f"东坡村{s}"]["id"]
    assert schools[f"西岭中学{s}"]["village_id"] == villages["板当村"]["id"]
    grades = {c["name"]: c["grade"] for c in admin.get(f"/api/classes?school_id={schools[f'东坡小学{s}']['id']}").json()}
    assert grades == {"一年级（1）班": 1, "二年级（1）班": 2}

    people = {p["username"]: p for p in admin.get("/api/people").json()}
    teacher = people[f"e_{s}_1"]
    assert (teacher["role"], teacher["unit_name"], teacher["class_names"]) == ("class_teacher", f"东坡小学{s}",
                                                                                ["一年级（1）班"])
    assert people[f"e_{s}_2"]["unit_name"] == f"西岭村{s}"
    assert people[f"e_{s}_3"]["unit_name"] == "派出所"
    assert people[f"e_{s}_4"]["role"] == "leader"
    r = _token(admin, f"e_{s}_2")
    assert r.status_code == 201 and r.json()["me"]["membership"]["role"] == "village_cadre"


def test_columns_are_matched_by_header_not_position(admin: Any) -> None:
    s = _u()
    book = Workbook()
    book.active.title = "村委会"
    book.active.append(["备注", "编码", "名称 *"])  # another order, an unknown column, a decorated header
    book.active.append(["随便写", "1", f"北山村{s}"])
    out = BytesIO()
    book.save(out)
    r = _upload(admin, out.getvalue())
    assert r.status_code == 200, r.text
    assert r.json()["villages"] == 1
    assert f"北山村{s}" in {v["name"] for v in admin.get("/api/villages").json()}


# --- a bad file --------------------------------------------------------------------------------

def test_one_bad_row_among_good_ones_imports_nothing(admin: Any, template: bytes) -> None:
    s = _u()
    rows = _good_rows(s)
    rows["班级"][2][1] = 3  # 西岭中学 is a middle school: no third grade (班级!B4)
    r = _upload(admin, _filled(template, rows))
    assert r.status_code == 400
    problem = r.json()
    assert problem["errors"] == [{"field": "班级!B4", "message": "初级中学只有七年级到九年级，不能设三年级。"}]
    assert "没有导入任何数据" in problem["detail"]
    assert not {f"东坡村{s}", f"西岭村{s}"} & {v["name"] for v in admin.get("/api/villages").json()}
    assert not {f"东坡小学{s}", f"西岭中学{s}"} & {x["name"] for x in admin.get("/api/schools").json()}
    assert not any(p["username"].startswith(f"e_{s}") for p in admin.get("/api/people").json())
    assert _token(admin, f"e_{s}_1").status_code == 401


def test_every_problem_is_reported_at_its_cell(admin: Any, template: bytes) -> None:
    s = _u()
    rows = {
        "村委会": [[f"南村{s}", None], [f"南村{s}", None], ["板当村", None]],
        "学校": [[None, "小学", None, None], [f"南小{s}", "大学", None, "不存在村"],
                [f"南小二{s}", "小学", 123456789012345678.0, None]],
        "班级": [["没有的学校", 3, "三（1）班", 2024], [f"南小二{s}", "十年级", None, 1980]],
        "人员": [["bd_admin", None, "12345", "abc", "皇帝", None, None, None],
                [f"n_{s}", "甲", None, "Baoxue2026x", "班主任", "板当中学", "不存在的班", None],
                [f"N_{s}", "乙", None, "Baoxue2026x", "村干部", "派出所", None, None],
                [f"m_{s}", "丙", None, "Baoxue2026x", "领导小组组长", "板当村", None, None]],
    }
    r = _upload(admin, _filled(template, rows))
    assert r.status_code == 400
    errors = {e["field"]: e["message"] for e in r.json()["errors"]}
    expected = {
        "村委会!A3": "重复", "村委会!A4": "已有村委会",
        "学校!A2": "名称不能为空", "学校!B3": "学校类型无效", "学校!D3": "不存在村", "学校!C4": "文本",
        "班级!A2": "没有的学校", "班级!B3": "年级应填", "班级!C3": "班级名称不能为空", "班级!D3": "入学年份",
        "人员!A2": "已被使用", "人员!B2": "姓名不能为空", "人员!C2": "手机号", "人员!D2": "初始密码",
        "人员!E2": "角色无效", "人员!G3": "不存在的班", "人员!A4": "重复", "人员!F4": "村委会",
        "人员!F5": "留空",
    }
    for cell, words in expected.items():
        assert words in errors.get(cell, ""), (cell, errors.get(cell), errors)
    assert set(errors) == set(expected)
    assert not any(v["name"].endswith(s) for v in admin.get("/api/villages").json())


def test_a_missing_required_column_is_reported_on_the_header_row(admin: Any) -> None:
    book = Workbook()
    book.active.title = "学校"
    book.active.append(["名称", "编码"])
    book.active.append([f"无类型学校{_u()}", "1"])
    out = BytesIO()
    book.save(out)
    r = _upload(admin, out.getvalue())
    assert r.status_code == 400
    assert r.json()["errors"] == [{"field": "学校!1:1", "message": "缺少“类型”列：第 1 行应有此表头。"}]


def test_not_an_xlsx_is_a_clear_message(admin: Any) -> None:
    r = _upload(admin, b"name,code\nA,1\n", name="villages.csv")
    assert r.status_code == 400
    assert r.json()["errors"] == [{"field": "file", "message": "文件不是有效的 Excel（.xlsx）文件。"}]
    assert r.json()["detail"]


def test_an_empty_template_imports_nothing_and_says_so(admin: Any, template: bytes) -> None:
    r = _upload(admin, template)
    assert r.status_code == 400 and "没有可导入的数据" in r.json()["errors"][0]["message"]


def test_too_large_is_refused(admin: Any) -> None:
    r = _upload(admin, b"0" * (excel.MAX_UPLOAD_BYTES + 200 * 1024))
    assert r.status_code == 413
    assert r.json()["title"] == "上传的文件太大"


def test_size_is_checked_by_the_service_too(db_session: Any, townships: dict[str, int]) -> None:
    with pytest.raises(InvalidInput) as info:
        excel.do_import_structure(db_session(townships["DEMO-BD"]), b"0" * (excel.MAX_UPLOAD_BYTES + 1))
    assert "不能超过 5 MB" in info.value.errors["file"]


def test_only_the_administrator_may_import(persona: Any, template: bytes) -> None:
    r = _upload(persona("bd_leader"), _filled(template, {"村委会": [[f"越权村{_u()}", None]]}))
    assert r.status_code == 403


def test_the_import_is_audited(admin: Any, template: bytes, persona: Any) -> None:
    s = _u()
    assert _upload(admin, _filled(template, {"村委会": [[f"审计村{s}", None]]})).status_code == 200
    events = persona("bd_leader").get("/api/audit?event=tenancy:").json()
    completed = next(e for e in events if e["event"] == "tenancy:import:completed")
    assert completed["changes"] == {"villages": 1, "schools": 0, "classes": 0, "people": 0}
    created = next(e for e in events if e["event"] == "tenancy:village:created")
    assert created["changes"]["name"] == f"审计村{s}" and created["id"] < completed["id"]


# --- formulas, the error workbook, two uploads at once ----------------------------------------

def test_a_formula_cell_is_reported_as_a_formula(admin: Any, template: bytes) -> None:
    s = _u()
    r = _upload(admin, _filled(template, {"村委会": [["=B2", "522727"], [f"公式村{s}", "=1+1"]]}))
    assert r.status_code == 400
    errors = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert set(errors) == {"村委会!A2", "村委会!B3"}
    assert "公式（=B2）" in errors["村委会!A2"] and "直接输入" in errors["村委会!A2"]
    assert "不能为空" not in "".join(errors.values())


def test_a_rejected_file_comes_back_as_an_error_workbook(db_session: Any, townships: dict[str, int],
                                                           template: bytes) -> None:
    s = _u()
    data = _filled(template, {"村委会": [[f"错表村{s}", None], ["板当村", None]]})
    with pytest.raises(excel.ImportRejected) as info:
        excel.do_import_structure(db_session(townships["DEMO-BD"]), data)
    book = load_workbook(BytesIO(info.value.error_workbook() or b""))
    assert book.sheetnames == ["问题", "村委会", "学校", "班级", "人员"]  # as uploaded, each with its rows
    assert [c.value for c in book["村委会"][3]] == ["板当村", None, "A列：本乡镇已有村委会“板当村”。"]


def test_the_same_file_uploaded_twice_at_once(db_session: Any, townships: dict[str, int], template: bytes) -> None:
    """The second waits for the first (PostgreSQL) and reports duplicates, or loses the race
    at the unique constraint (SQLite) and says so with a 409: never a 500, never both."""
    s = _u()
    data = _filled(template, {"村委会": [[f"并发村{s}", None]], "学校": [[f"并发小学{s}", "小学", None, f"并发村{s}"]]})
    first, second = db_session(townships["DEMO-BD"]), db_session(townships["DEMO-BD"])
    assert excel.do_import_structure(first, data)["villages"] == 1  # not committed yet
    engine = second.get_bind()
    waiting, outcome = threading.Event(), {}

    def about_to_wait(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # PostgreSQL: the import lock; SQLite: the first write, which waits for the other writer.
        if "pg_advisory_xact_lock" in statement or statement.startswith("INSERT INTO villages"):
            waiting.set()

    def run() -> None:
        try:
            outcome["counts"] = excel.do_import_structure(second, data)
        except Exception as exc:  # noqa: BLE001 - inspected below
            outcome["error"] = exc
        finally:
            waiting.set()

    event.listen(engine, "before_cursor_execute", about_to_wait)
    try:
        thread = threading.Thread(target=run)
        thread.start()
        waiting.wait(60)
        first.commit()
        thread.join(60)
    finally:
        event.remove(engine, "before_cursor_execute", about_to_wait)
    error = outcome.get("error")
    assert "counts" not in outcome and error is not None
    if isinstance(error, Conflict):
        assert error.status_code == 409 and "没有保存任何数据" in error.detail
    else:
        assert isinstance(error, excel.ImportRejected), repr(error)
        assert {p.key: p.message for p in error.problems} == {
            "村委会!A2": f"本乡镇已有村委会“并发村{s}”。", "学校!A2": f"本乡镇已有学校“并发小学{s}”。"}
    if BACKEND == "postgresql":
        assert isinstance(error, excel.ImportRejected)  # the lock made it wait, then see the rows


# --- the page ----------------------------------------------------------------------------------

def test_import_page_uploads_and_shows_the_result_or_the_errors(app: Any, template: bytes) -> None:
    from tests.tenants.tenancy.test_routes import browser_login

    browser = browser_login(app, "bd_admin")
    token = browser.cookies.get("csrftoken")
    r = browser.get("/admin/import/template")
    assert r.status_code == 200 and load_workbook(BytesIO(r.content)).sheetnames[0] == "说明"

    s = _u()
    good = _filled(template, {"村委会": [[f"页面导入村{s}", None]]})
    r = browser.post("/admin/import", data={"_csrf_token": token}, files={"file": ("a.xlsx", good)},
                     follow_redirects=False)
    assert r.status_code == 303, r.text
    page = browser.get(r.headers["location"]).text
    assert "导入成功：村委会 1 个，学校 0 所，班级 0 个，人员 0 人。" in page

    bad = _filled(template, {"班级": [["没有的学校", 7, "七（1）班", 2026]]})
    r = browser.post("/admin/import", data={"_csrf_token": token}, files={"file": ("b.xlsx", bad)})
    assert r.status_code == 400
    assert "<th>工作表</th>" in r.text and "没有的学校" in r.text and "<td>A</td>" in r.text
    # The clerk gets their own file back with each problem beside its row, to fix and upload again.
    link = re.search(r'href="(/admin/import/errors\?key=[^"]+)"', r.text)
    assert link, r.text
    marked = load_workbook(BytesIO(browser.get(html.unescape(link.group(1))).content))
    assert "问题" in marked.sheetnames and any("没有的学校" in str(c.value) for row in marked["班级"].iter_rows()
                                             for c in row if c.value)
    forged = link.group(1).replace("/import-errors/", "/packets/")
    assert browser.get(html.unescape(forged)).status_code == 404

    r = browser.post("/admin/import", data={"_csrf_token": token}, files={"file": ("c.txt", b"hello")})
    assert r.status_code == 400 and "文件不是有效的 Excel（.xlsx）文件。" in r.text
