"""The OpenAPI document says what the API really answers: problems, downloads, bounds, methods."""

from __future__ import annotations

from typing import Any

import pytest

PROBLEM_STATUSES = {"400", "401", "403", "404", "409", "422", "503"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_BIGINT = 2**63 - 1


@pytest.fixture(scope="module")
def document(client: Any) -> dict[str, Any]:
    return client.get("/schema/openapi.json").json()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in document["paths"].items() if path.startswith("/api/")
            for method, op in item.items() if isinstance(op, dict) and "responses" in op]


def _schema(document: dict[str, Any], ref_or_schema: dict[str, Any]) -> dict[str, Any]:
    ref = ref_or_schema.get("$ref", "")
    return document["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else ref_or_schema


def test_every_api_operation_declares_its_problem_answers(document: dict[str, Any]) -> None:
    operations = _operations(document)
    assert len(operations) > 20
    for path, method, op in operations:
        missing = PROBLEM_STATUSES - set(op["responses"])
        assert not missing, f"{method.upper()} {path} does not declare {sorted(missing)}"
        for status in PROBLEM_STATUSES:
            content = op["responses"][status]["content"]
            assert list(content) == ["application/problem+json"], (path, status)
            problem = _schema(document, content["application/problem+json"]["schema"])
            assert {"type", "title", "status", "detail"} <= set(problem["properties"])


def test_the_login_declares_its_throttle(document: dict[str, Any]) -> None:
    assert "429" in document["paths"]["/api/auth/token"]["post"]["responses"]


@pytest.mark.parametrize("path", ["/api/students/export", "/api/imports/structure/template"])
def test_downloads_declare_the_xlsx_type(document: dict[str, Any], path: str) -> None:
    assert list(document["paths"][path]["get"]["responses"]["200"]["content"]) == [XLSX]


def test_integer_parameters_declare_their_range(document: dict[str, Any]) -> None:
    seen = 0
    for path, method, op in _operations(document):
        for parameter in op.get("parameters", []):
            schema = parameter["schema"]
            types = [schema] + schema.get("oneOf", [])
            for s in types:
                if s.get("type") == "integer":
                    seen += 1
                    assert s.get("maximum", MAX_BIGINT + 1) <= MAX_BIGINT, (path, parameter["name"])
                    assert "minimum" in s, (path, parameter["name"])
    assert seen >= 8


def test_bodies_declare_the_bounds_the_services_enforce(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]

    def props(name: str) -> dict[str, Any]:
        return next(v["properties"] for k, v in schemas.items() if k.endswith(name))

    grade = props("ClassIn")["grade"]
    assert (grade["minimum"], grade["maximum"]) == (1, 9)
    assert props("ClassIn")["school_id"]["maximum"] == MAX_BIGINT
    assert props("PersonIn")["role"]["minLength"] == 1
    assert props("MembershipIn")["class_ids"]["items"]["maximum"] == MAX_BIGINT


@pytest.mark.parametrize("method", ["TRACE", "PUT", "CONNECT"])
@pytest.mark.parametrize("path", ["/api/villages", "/students", "/api/me"])
def test_unsupported_methods_are_405_with_allow(client: Any, method: str, path: str) -> None:
    r = client.request(method, path)
    assert r.status_code == 405, r.text
    assert "GET" in r.headers["allow"] and method not in r.headers["allow"]
