"""Schemathesis over the whole API as the demo administrator: no 5xx, and every answer as documented.

In-process (ASGI), against a database of its own (migrated and seeded here), so the writes the
fuzzing makes never reach the run's shared database. Bounded: a fixed number of examples per
operation, positive and negative, derandomized (the same cases every run), about half a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import DEMO_PASSWORD  # noqa: E402
from tests.platform.test_migrations import fresh_settings  # noqa: E402,F401 - a fixture

# Schemathesis's own strategies use `random`; Hypothesis says so on every operation.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 10}


@pytest.fixture
def fuzzed_app(fresh_settings: Any) -> Iterator[tuple[Any, str]]:  # noqa: F811 - the fixture above
    from litestar.testing import TestClient

    from baoxue.platform import migrate
    from baoxue.platform.app import create_app
    from baoxue.platform.demo import seed_demo

    migrate.upgrade(settings=fresh_settings)
    seed_demo(fresh_settings)
    app = create_app(fresh_settings)
    with TestClient(app, base_url="http://testserver.local") as client:  # runs the app's startup
        r = client.post("/api/auth/token", json={"username": "bd_admin", "password": DEMO_PASSWORD})
        assert r.status_code == 201, r.text
        yield app, r.json()["token"]


def test_the_whole_api_answers_as_documented_under_fuzzing(fuzzed_app: tuple[Any, str]) -> None:
    app, token = fuzzed_app
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app).include(path_regex="^/api/")
    # Logging out would end the administrator's token for the operations that follow.
    schema = schema.exclude(method="DELETE", path="/api/auth/token")
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    for operation in operations:
        for mode, examples in EXAMPLES.items():

            @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:
                pass  # nothing to make invalid: no parameters, no body
            except (Exception, BaseExceptionGroup) as failure:  # noqa: BLE001 - one report for every operation
                failures.append(f"{operation.label} ({mode}): {failure}")
    assert not failures, "\n\n".join(failures)
