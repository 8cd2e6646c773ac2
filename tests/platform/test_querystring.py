"""An empty optional query parameter is "not given" on every route (platform/querystring.py)."""

from typing import Any

import pytest

from baoxue.platform.querystring import without_empty_values


@pytest.mark.parametrize("raw, kept", [
    (b"", b""),
    (b"q=&school_id=&page=2", b"page=2"),
    (b"school_id=%20&q=%E5%BC%A0", b"q=%E5%BC%A0"),  # spaces only are empty; the rest stays byte for byte
    (b"q=+&flag&page=", b""),
    (b"a=1&a=&a=2", b"a=1&a=2"),
])
def test_empty_values_are_dropped(raw: bytes, kept: bytes) -> None:
    assert without_empty_values(raw) == kept


def test_the_student_list_pages_past_the_first_with_every_filter_on_all(signed_in: Any) -> None:
    """The pager, the 查询 button with 学校 = 全部 and the live search all send empty values."""
    leader = signed_in("bd_leader")
    first = leader.get("/students?q=&school_id=&class_id=&grade=&status=&page=1")
    second = leader.get("/students?q=&school_id=&class_id=&grade=&status=&page=2")
    live = leader.get("/students?q=&school_id=", headers={"HX-Request": "true"})
    assert (first.status_code, second.status_code, live.status_code) == (200, 200, 200)
    assert "第 2 / " in second.text and first.text != second.text


@pytest.mark.parametrize("path", [
    "/api/students?school_id=&class_id=&page=", "/api/classes?school_id=", "/api/audit?user_id=&page=",
])
def test_the_api_reads_empty_values_as_absent(persona: Any, path: str) -> None:
    assert persona("bd_admin" if "students" not in path else "bd_leader").get(path).status_code == 200


def test_the_audit_filter_with_everything_on_all(signed_in: Any) -> None:
    assert signed_in("bd_leader").get("/audit?event=&outcome=&user_id=&page=").status_code == 200
