"""The census's pages and API: a village keeps its census, departments their lists, the office
sees what the comparison found; bad files and bad input change nothing and say why."""

from __future__ import annotations

from datetime import date
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import func, select

import io

from baoxue.platform.db import cross_township_session
from baoxue.tenants.students.idnumbers import make_id_number
from baoxue.tenants.census.models import CensusChild, PovertyHousehold
from baoxue.tenants.tenancy.models import Membership, User, Village
from tests.pages import csrf_token
from tests.tenants.census.helpers import child_id, workbook


def _village_of(demo: Any, username: str) -> tuple[int, str]:
    with cross_township_session("tests: a cadre's village", demo) as s:
        row = s.execute(select(Village.id, Village.name).join(Membership, Membership.village_id == Village.id)
                        .join(User, User.id == Membership.user_id).where(User.username == username)).one()
    return row.id, row.name


def _count(demo: Any, model: Any, **where: Any) -> int:
    with cross_township_session("tests: count", demo) as s:
        return s.scalar(select(func.count(model.id)).filter_by(**where)) or 0


def _upload(client: Any, path: str, data: bytes, page: str) -> Any:
    token = csrf_token(client.get(page).text)
    return client.post(path, files={"file": ("户口.xlsx", data, "application/octet-stream")},
                       data={"_csrf_token": token})


def test_a_village_cadre_goes_to_their_village_and_sees_what_the_comparison_found(demo: Any, signed_in: Any) -> None:
    village_id, name = _village_of(demo, "bd_village1")
    client = signed_in("bd_village1")
    r = client.get("/census", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/census/villages/{village_id}"
    page = client.get(f"/census/villages/{village_id}").text
    assert f"{name} · 文化户口" in page and "未在任何学校就读" in page and "查看控辍个案" in page
    others = _count(demo, Village) and client.get(f"/census/villages/{village_id + 1}")
    assert others.status_code == 404


def test_a_refused_file_writes_nothing_and_comes_back_marked(demo: Any, signed_in: Any) -> None:
    village_id, _ = _village_of(demo, "bd_village1")
    client = signed_in("bd_village1")
    before = _count(demo, CensusChild)
    bad = child_id(1)[:17] + ("0" if child_id(1)[17] != "0" else "1")
    data = workbook([(1, "张三", child_id(2), "一组", "张父", "13800000001", "是"),
                     (2, "李四", bad, "二组", "李父", "13800000002", "是"),
                     (3, "王五", "", "三组", "", "", "否")], title="某村适龄儿童名单")
    r = _upload(client, f"/census/villages/{village_id}/import", data, f"/census/villages/{village_id}")
    assert r.status_code == 400
    assert "校验位不对" in r.text and "身份证号码不能为空" in r.text.replace("身份证号不能为空", "身份证号码不能为空")
    assert _count(demo, CensusChild) == before
    key = r.text.split("key=")[1].split('"')[0].replace("&amp;", "&")
    marked = client.get(f"/census/errors?list_kind=census&key={key}")
    assert marked.status_code == 200
    sheets = load_workbook(io.BytesIO(marked.content)).worksheets
    assert any(ws["A1"].value == "某村适龄儿童名单" for ws in sheets)  # the clerk's own sheet, title and all
    assert client.get(f"/census/errors?list_kind=register&key={key}").status_code == 404


def test_a_clean_file_adds_then_leaves_alone_and_a_child_of_another_village_is_refused(demo: Any,
                                                                                      signed_in: Any) -> None:
    village_id, _ = _village_of(demo, "bd_village1")
    other_id, other_name = _village_of(demo, "bd_village2")
    client = signed_in("bd_village1")
    rows = [(1, "赵六", child_id(3), "四组", "赵父", "13800000003", "是"),
            (2, "钱七", child_id(4, male=False), "五组", "钱母", "13800000004", "否")]
    page = f"/census/villages/{village_id}"
    r = _upload(client, f"{page}/import", workbook(rows), page)
    assert r.status_code == 200 and "新增 2" in r.text
    again = _upload(client, f"{page}/import", workbook(rows), page)
    assert "新增 0，更新 0，未变 2" in again.text
    theirs = signed_in("bd_village2")
    refused = _upload(theirs, f"/census/villages/{other_id}/import", workbook(rows[:1]),
                      f"/census/villages/{other_id}")
    assert refused.status_code == 400 and "已登记在" in refused.text
    assert _count(demo, CensusChild, village_id=other_id, id_number=child_id(3)) == 0
    assert other_name not in refused.text.split("已登记在")[1][:20]


def test_each_department_imports_the_list_its_duty_keeps(demo: Any, signed_in: Any) -> None:
    police, finance = signed_in("bd_police"), signed_in("bd_finance")
    assert police.get("/census").status_code == 403  # the census itself is not theirs to read
    lists = police.get("/census/lists").text
    assert 'id="list-register"' in lists and 'id="list-poverty"' not in lists
    households = workbook([("王大山", make_id_number("522731", date(1980, 1, 1), 13), "低保户", "")], headers=("户主姓名", "户主身份证号",
                                                                                 "类别", "村（社区）"))
    r = _upload(police, "/census/lists/poverty", households, "/census/lists")
    assert r.status_code == 404
    before = _count(demo, PovertyHousehold)
    r = _upload(finance, "/census/lists/poverty", households, "/census/lists")
    assert r.status_code == 200 and "导入完成" in r.text
    assert _count(demo, PovertyHousehold) in (before, before + 1)
    register = workbook([("孙八", child_id(5), "一组", "某村")], headers=("姓名", "公民身份号码", "组", "村（社区）"))
    r = _upload(police, "/census/lists/register", register, "/census/lists")
    assert r.status_code == 400 and "不是本乡镇的村" in r.text
    assert signed_in("bd_village1").get("/census/lists").status_code in (403, 404)


def test_the_api_names_the_field_and_masks_the_number(demo: Any, persona: Any) -> None:
    village_id, _ = _village_of(demo, "bd_village1")
    cadre = persona("bd_village1")
    r = cadre.post(f"/api/census/villages/{village_id}/children", json={"name": "周九", "id_number": "123"})
    assert r.status_code == 400
    assert r.json()["errors"] == [{"field": "id_number", "message": "身份证号应为 18 位且校验位正确（末位可为 X）：请核对。"}] \
        or any(e["field"] == "id_number" for e in r.json()["errors"])
    number = child_id(6)
    r = cadre.post(f"/api/census/villages/{village_id}/children", json={"name": "周九", "id_number": number,
                                                                       "lives_here": False})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id_number"] != number and body["id_number"][-4:] == number[-4:] and "*" in body["id_number"]
    assert body["birth_date"] == f"{number[6:10]}-{number[10:12]}-{number[12:14]}"
    listed = cadre.get(f"/api/census/villages/{village_id}/children").text
    assert number not in listed
    assert cadre.delete(f"/api/census/children/{body['id']}").status_code == 204
    problem = cadre.post(f"/api/census/villages/{village_id}/import",
                         files={"file": ("x.xlsx", workbook([(1, "吴十", "5227", "", "", "", "")]), "application/x")})
    assert problem.status_code == 422 and problem.headers["content-type"].startswith("application/problem+json")
    assert "身份证号" in problem.text and problem.json()["errors"][0]["field"] == "C2"
    marked = cadre.get(problem.json()["error_workbook"])  # the marked file, by the API's own link
    assert marked.status_code == 200 and load_workbook(io.BytesIO(marked.content)).worksheets


def test_the_office_asks_for_the_comparison_and_the_leader_is_told_what_it_found(demo: Any, persona: Any,
                                                                                 signed_in: Any) -> None:
    r = persona("bd_office").post("/api/census/reconcile")
    assert r.status_code == 202 and r.json()["key"].startswith("census:asked:")
    assert persona("bd_village1").post("/api/census/reconcile").status_code == 403
    home = signed_in("bd_leader").get("/").text
    assert "四查三比对发现" in home
    office = signed_in("bd_office").get("/census").text
    assert "未在任何学校就读" in office and "空挂学籍" in office and "重复学籍" in office


def test_the_office_importing_for_one_village_finds_missing_only_that_villages_children(
        demo: Any, db_session: Any, townships: dict[str, int]) -> None:
    from baoxue.tenants.census import service

    village_id, _ = _village_of(demo, "bd_village1")
    other_id, _ = _village_of(demo, "bd_village2")
    s = db_session(townships["DEMO-BD"])
    service.do_add_child(s, other_id, {"name": "孙八", "id_number": child_id(21)})
    service.do_add_child(s, village_id, {"name": "周九", "id_number": child_id(22)})
    s.flush()
    report = service.do_import_list(s, "census", workbook([(1, "吴十", child_id(23), "一组", "", "", "是")]),
                                    village_id=village_id)
    assert report.added == 1 and "周九" in report.missing and "孙八" not in report.missing
