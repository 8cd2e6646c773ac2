"""The membership switcher changes role on selection, under a policy that forbids inline script."""

from __future__ import annotations

from typing import Any

from tests.browser.test_pages import login


def test_choosing_another_membership_switches_at_once(page: Any, live_server: str) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(page, live_server, "bd_cps_principal")
    header = page.locator("header")
    assert "校长" in header.inner_text()
    other = page.locator("#membership_id option:not([selected])").first
    with page.expect_navigation():
        page.select_option("#membership_id", other.get_attribute("value"))
    assert "领导小组办公室" in page.locator("header").inner_text()
    assert not [e for e in errors if "Content Security Policy" in e], errors
