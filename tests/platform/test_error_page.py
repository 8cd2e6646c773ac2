"""The error page a person sees: Chinese field names, said once, and a way back."""

from typing import Any


from baoxue.platform.labels import label
from tests.pages import parse, visible_text


def test_a_bad_query_value_names_the_field_in_chinese_once(signed_in: Any) -> None:
    r = signed_in("bd_leader").get("/students?school_id=abc")
    assert r.status_code == 400
    text = visible_text(r.text)
    assert "school_id" not in text and "“学校”" in text
    assert text.count("“学校”") == 1, text  # the detail and the list do not repeat each other


def test_problem_details_name_the_field_by_its_label(persona: Any) -> None:
    problem = persona("bd_leader").get("/api/students?page=first").json()
    assert problem["errors"][0]["field"] == "page"  # the code stays for programs
    assert "页码" in problem["errors"][0]["message"] and "page" not in problem["errors"][0]["message"]


def test_an_expired_form_says_the_page_expired(signed_in: Any) -> None:
    admin = signed_in("bd_admin")
    r = admin.post("/admin/villages", data={"name": "过期表单村", "_csrf_token": "stale"},
                   headers={"referer": "http://testserver.local/admin/villages"})
    assert r.status_code == 403
    page = parse(r.text)
    text = visible_text(r.text)
    assert "页面已过期" in text and "没有权限" not in text
    assert "/admin/villages" in page.links  # back to the form, which gives a fresh token


def test_too_large_an_upload_states_the_limit_and_leads_back_to_the_upload(app: Any, signed_in: Any) -> None:
    from baoxue.tenants.tenancy.routes import UPLOAD_BODY_LIMIT

    admin = signed_in("bd_admin")
    admin.get("/admin/import")
    big = b"0" * (UPLOAD_BODY_LIMIT + 1)
    r = admin.post("/admin/import", files={"file": ("big.xlsx", big, "application/octet-stream")},
                   data={"_csrf_token": admin.cookies.get("csrftoken")},
                   headers={"referer": "http://testserver.local/admin/import"})
    assert r.status_code == 413
    text = visible_text(r.text)
    assert f"{UPLOAD_BODY_LIMIT // (1024 * 1024)} MB" in text
    assert "/admin/import" in parse(r.text).links


def test_too_large_an_upload_without_a_referer_still_leads_back(app: Any, signed_in: Any) -> None:
    admin = signed_in("bd_admin")
    from baoxue.tenants.tenancy.routes import UPLOAD_BODY_LIMIT

    r = admin.post("/admin/import", files={"file": ("big.xlsx", b"0" * (UPLOAD_BODY_LIMIT + 1))},
                   data={"_csrf_token": admin.cookies.get("csrftoken")})
    assert r.status_code == 413 and "/admin/import" in parse(r.text).links


def test_every_parameter_of_every_route_has_a_chinese_label(app: Any) -> None:
    """Query, path and form/JSON body fields: what an error message may have to name."""
    import dataclasses

    from litestar.routes import HTTPRoute

    skip = {"request", "db", "data", "self", "state", "headers", "cookies", "scope", "socket"}
    unlabelled = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if handler.handler_name.startswith(("_", "test")) or route.path.startswith(("/schema", "/static")):
                continue
            params = set(handler.parsed_fn_signature.parameters) - skip
            body = handler.parsed_fn_signature.parameters.get("data")
            body_type = getattr(body, "annotation", None) if body else None
            if dataclasses.is_dataclass(body_type):
                params |= {f.name for f in dataclasses.fields(body_type)}
            elif hasattr(body_type, "__struct_fields__"):
                params |= set(body_type.__struct_fields__)
            unlabelled |= {p for p in params if label(p) == p}
    assert not unlabelled, f"add these to a concept's schemas.FIELDS (or platform/labels.py): {sorted(unlabelled)}"
