"""Every demo login of 板当镇 clicks through its pages the way a newcomer does.

From the home page, each follows every link of this site and submits every GET form as it
stands (and once with each option of each select), breadth first, to a bounded depth and
number of pages. Every answer must be 2xx/3xx, with no traceback, no field code (`school_id`,
`page`) and no raw UTC timestamp in the text a person reads. Downloads are not read, but
must be 200. Bounded so that all logins together take well under a minute.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from baoxue.platform.labels import fields
from baoxue.tenants.tenancy.demo import DEMO_USERS
from tests.pages import Form, parse, visible_text

LOGINS = [u["username"] for u in DEMO_USERS if u["township_code"] == "DEMO-BD"]
MAX_PAGES = 40  # per login
MAX_DEPTH = 3  # clicks from the home page
PER_SHAPE = 3  # /students/1, /students/2, ...: the same page for another row
OPTIONS_PER_SELECT = 6  # a long select (60 classes) is sampled: its first options and its last
NOT_FOLLOWED = ("/logout", "/static/", "/schema")  # leaving, files, the API description
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# An address shown as such (the audit trail's request path, /api/status-changes/3) is not a
# field code shown to a person in place of its name.
PATH = re.compile(r"(?<![A-Za-z0-9_])/[A-Za-z0-9_\-/.{}:]+")


def field_codes() -> set[str]:
    """What a person must never read: every field code the app knows, e.g. school_id, page, q."""
    return {code for code in fields() if "." not in code}


def _same_site(href: str) -> str | None:
    parts = urlsplit(href)
    if parts.scheme not in ("", "http") or parts.netloc not in ("", "testserver.local"):
        return None
    if not parts.path.startswith("/") or parts.path.startswith(NOT_FOLLOWED):
        return None
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return parts.path + (f"?{query}" if query else "")


def _shape(url: str) -> str:
    parts = urlsplit(url)
    names = sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return re.sub(r"/\d+", "/#", parts.path) + "?" + ",".join(names)


def _sample(options: list[str]) -> list[str]:
    if len(options) <= OPTIONS_PER_SELECT:
        return options
    return options[:OPTIONS_PER_SELECT - 1] + options[-1:]


def submissions(form: Form) -> list[str]:
    """A GET form as a browser sends it (empty values included), and once per sampled option."""
    base = [*form.fields, *form.selected.items()]
    urls = [f"{form.action}?{urlencode(base)}"]
    for name, options in form.selects.items():
        for option in _sample(options):
            if option != form.selected.get(name):
                varied = [(k, option if k == name else v) for k, v in base]
                urls.append(f"{form.action}?{urlencode(varied)}")
    return urls


@dataclass
class Crawl:
    visited: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def crawl(client: Any, codes: set[str]) -> Crawl:
    result = Crawl()
    queue: deque[tuple[str, int]] = deque([("/", 0)])
    queued, shapes = {"/"}, Counter[str]()
    while queue and len(result.visited) < MAX_PAGES:
        url, depth = queue.popleft()
        result.visited.append(url)
        r = client.get(url, follow_redirects=True)
        if r.status_code >= 400:
            result.problems.append(f"{url}: {r.status_code} {visible_text(r.text)[:200]}")
            continue
        if "text/html" not in r.headers.get("content-type", ""):
            if r.status_code != 200:
                result.problems.append(f"{url}: a download answered {r.status_code}")
            continue
        text = visible_text(r.text)
        shown = codes & set(WORD.findall(PATH.sub(" ", text)))
        if shown:
            result.problems.append(f"{url}: shows field codes {sorted(shown)}")
        if "Traceback" in r.text:
            result.problems.append(f"{url}: a traceback")
        if ISO_UTC.search(text):
            result.problems.append(f"{url}: a raw timestamp {ISO_UTC.search(text).group(0)}")
        if depth >= MAX_DEPTH:
            continue
        page = parse(r.text)
        found = [*page.links, *(u for f in page.forms if f.method == "get" for u in submissions(f))]
        for href in found:
            target = _same_site(href)
            if target is None or target in queued or shapes[_shape(target)] >= PER_SHAPE:
                continue
            queued.add(target)
            shapes[_shape(target)] += 1
            queue.append((target, depth + 1))
    return result


def test_the_crawler_finds_what_it_should(signed_in: Any) -> None:
    """The crawler itself: it submits the student filters with 学校 = 全部 (an empty value)."""
    form = next(f for f in parse(signed_in("bd_leader").get("/students").text).forms if f.action == "/students")
    first, *variants = submissions(form)
    assert "school_id=&" in first and "q=&" in first
    assert any("school_id=&" not in v for v in variants)
    assert {"school_id", "page", "q"} <= field_codes()


@pytest.mark.parametrize("username", LOGINS)
def test_every_page_a_login_reaches_answers_in_chinese(signed_in: Any, username: str) -> None:
    result = crawl(signed_in(username), field_codes())
    assert not result.problems, "\n".join(result.problems)
    assert len(result.visited) > 1  # it went somewhere beyond the home page
