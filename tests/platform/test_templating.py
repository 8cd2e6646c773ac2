"""What every template relies on: the CSRF header for htmx, China's clock, masking."""

import json
import re
from datetime import UTC, date, datetime
from typing import Any

from litestar.testing import TestClient

from baoxue.platform.templating import is_future, local_time
from tests.platform.test_identity import page_login


def test_htmx_requests_carry_the_pages_csrf_token(app: Any) -> None:
    """base.html gives htmx the token as a header: the first htmx POST must not be refused."""
    with TestClient(app, base_url="http://testserver.local") as browser:
        page_login(browser, "bd_office", "baoxue2026")
        home = browser.get("/")
        attribute = re.search(r"<body hx-headers='([^']*)'", home.text)
        assert attribute is not None, home.text[:500]
        headers = json.loads(attribute.group(1).replace("&#34;", '"').replace("&quot;", '"'))
        (name, token), = headers.items()
        assert name.lower() == "x-csrftoken" and token and "function" not in token and "<" not in token
        r = browser.post("/logout", headers={name: token, "HX-Request": "true"}, follow_redirects=False)
        assert r.status_code in (302, 303) and r.headers["location"] == "/login"


def test_times_are_shown_as_chinas_clock() -> None:
    late_evening_utc = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)
    assert local_time(late_evening_utc) == "2026-11-28 01:30"
    assert local_time(late_evening_utc.replace(tzinfo=None)) == "2026-11-28 01:30"  # stored times are UTC
    assert local_time("2026-11-27T17:30:00+00:00") == "2026-11-28 01:30"  # as the audit trail keeps them
    assert local_time(None) == "" and local_time("not a time") == "" and local_time(date(2026, 1, 1)) == ""


def test_is_future_follows_the_clock() -> None:
    from baoxue.platform.clock import clock

    moment = datetime(2030, 1, 1, tzinfo=UTC)
    assert is_future(moment) and not is_future(None)
    try:
        clock.freeze(moment)
        assert not is_future(moment)
    finally:
        clock.unfreeze()
