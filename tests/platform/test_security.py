"""Response headers every answer carries, and CSRF tokens bound to the person's session."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.platform.test_identity import page_login, session_csrf


@pytest.fixture
def browser(app: Any) -> Any:
    with TestClient(app, base_url="http://testserver.local") as c:
        yield c


def _framing_and_sniffing_refused(r: Any) -> None:
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"


def test_every_answer_refuses_framing_and_sniffing(browser: Any, persona: Any) -> None:
    admin = persona("bd_admin")
    for r in (browser.get("/login"), browser.get("/nothing-here"), browser.get("/static/app.css"),
              browser.get("/health"), admin.get("/api/me"), admin.get("/api/nothing-here"),
              browser.get("/schema/openapi.json")):
        _framing_and_sniffing_refused(r)


def test_a_signed_in_persons_answers_are_never_stored(browser: Any, persona: Any) -> None:
    page_login(browser, "bd_leader", "baoxue2026")
    leader = persona("bd_leader")
    answers = [browser.get("/"), browser.get("/students"), browser.get("/nothing-here"), leader.get("/api/me"),
               leader.get("/api/students"), leader.get("/api/students/export")]
    student = leader.get("/api/students").json()[0]["id"]
    answers += [browser.get(f"/students/{student}"), leader.get(f"/api/students/{student}")]
    for r in answers:
        assert r.headers["cache-control"] == "no-store", (r.url, r.status_code)
    assert "no-store" not in browser.get("/static/app.css").headers.get("cache-control", "")


def test_pages_still_load_their_script_and_style_under_the_policy(browser: Any) -> None:
    page_login(browser, "bd_leader", "baoxue2026")
    r = browser.get("/")
    policy = r.headers["content-security-policy"]
    assert 'src="/static/htmx.min.js"' in r.text and 'href="/static/app.css"' in r.text
    for directive in ("script-src", "style-src", "default-src"):
        assert directive not in policy or "'self'" in policy.split(directive, 1)[1].split(";", 1)[0]


# --- CSRF ---------------------------------------------------------------------------------------

def test_pages_carry_the_sessions_token_whatever_the_cookie_says(app: Any, browser: Any, demo: Any) -> None:
    from sqlalchemy import select

    from baoxue.platform.db import cross_township_session
    from baoxue.platform.identity import AuthSession, _digest

    page_login(browser, "bd_leader", "baoxue2026")
    with cross_township_session("tests: session token", demo) as s:
        stored = s.scalar(select(AuthSession.csrf_token).where(
            AuthSession.id == _digest(browser.cookies.get("baoxue_session"))))
    assert session_csrf(browser) == stored
    browser.cookies.set("csrftoken", "planted-by-someone-else")
    assert session_csrf(browser) == stored and stored in browser.get("/").text  # forms and the htmx header


def test_an_attackers_own_cookie_and_token_do_not_pass_with_the_victims_session(app: Any, browser: Any) -> None:
    with TestClient(app, base_url="http://testserver.local") as attacker:
        attacker.get("/login")
        attackers_pair = attacker.cookies.get("csrftoken")  # a valid, signed token of their own
    page_login(browser, "bd_admin", "baoxue2026")
    browser.cookies.set("csrftoken", attackers_pair)
    r = browser.post("/admin/villages", data={"name": "跨站请求村", "_csrf_token": attackers_pair},
                     follow_redirects=False)
    assert r.status_code == 403 and "页面已过期" in r.text
    r = browser.post("/admin/villages", data={"name": "跨站请求村"}, headers={"X-CSRFToken": attackers_pair},
                     follow_redirects=False)
    assert r.status_code == 403


def test_another_sessions_token_does_not_pass(app: Any, browser: Any) -> None:
    with TestClient(app, base_url="http://testserver.local") as other:
        page_login(other, "bd_admin", "baoxue2026")
        others_token = session_csrf(other)
    page_login(browser, "bd_admin", "baoxue2026")
    r = browser.post("/admin/villages", data={"name": "别人令牌村", "_csrf_token": others_token},
                     follow_redirects=False)
    assert r.status_code == 403


def test_the_sessions_token_passes_in_a_form_and_in_the_htmx_header(browser: Any) -> None:
    from tests.tenants.tenancy.conftest import unique

    page_login(browser, "bd_admin", "baoxue2026")
    token = session_csrf(browser)
    r = browser.post("/admin/villages", data={"name": f"表单令牌村{unique()}", "_csrf_token": token},
                     follow_redirects=False)
    assert r.status_code == 303, r.text
    r = browser.post("/admin/villages", data={"name": f"头部令牌村{unique()}"}, headers={"X-CSRFToken": token},
                     follow_redirects=False)
    assert r.status_code == 303, r.text


def test_the_login_form_keeps_its_anonymous_token(browser: Any) -> None:
    browser.get("/login")
    html = browser.get("/login").text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', html).group(1)
    assert token == browser.cookies.get("csrftoken")
    r = browser.post("/login", data={"username": "bd_leader", "password": "baoxue2026",
                                     "_csrf_token": "0" * 128}, follow_redirects=False)
    assert r.status_code == 403


def test_scripts_come_from_this_site_only_and_no_template_carries_inline_script() -> None:
    """The policy allows scripts from this site alone, which holds only while no page writes
    inline script or event handlers (behaviour is declared in data attributes: static/app.js)."""
    import re
    from pathlib import Path

    from baoxue.platform.security import CONTENT_SECURITY_POLICY

    assert "script-src 'self'" in CONTENT_SECURITY_POLICY and "unsafe-inline" not in CONTENT_SECURITY_POLICY
    templates = Path(__file__).resolve().parents[2] / "templates"
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|javascript:", re.IGNORECASE)
    found = [f"{path.relative_to(templates)}: {m.group(0)}" for path in templates.rglob("*.html")
             for m in inline.finditer(path.read_text(encoding="utf-8"))]
    assert not found, found
