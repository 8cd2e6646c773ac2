"""PDF rendering: a real WeasyPrint in a child process, Chinese glyphs from the CJK font."""

import re
import zlib

import pytest
from jinja2 import Environment, FileSystemLoader

from baoxue.platform.pdf import PdfFailed, render_pdf
from baoxue.platform.settings import PROJECT_ROOT


def _document(body: str) -> str:
    env = Environment(loader=FileSystemLoader(PROJECT_ROOT / "templates"), autoescape=True)
    return env.from_string('{% extends "documents/base.html" %}{% block body %}' + body + "{% endblock %}").render()


def test_a_chinese_document_renders_with_an_embedded_cjk_font() -> None:
    pdf = render_pdf(_document("<h1>控辍保学工作责任书</h1><table><tr><th>学校</th><td>板当中学</td></tr></table>"))
    assert pdf.startswith(b"%PDF")
    objects = pdf + b"".join(_inflated_streams(pdf))  # fonts may sit in compressed object streams
    names = b" ".join(re.findall(rb"/BaseFont\s*/(?:[A-Z]{6}\+)?([\w-]+)", objects))
    assert b"CJK" in names, names  # the Debian fonts-noto-cjk font, subset and embedded
    assert b"/FontFile" in objects  # embedded, not merely named


def _inflated_streams(pdf: bytes) -> list[bytes]:
    out = []
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            out.append(zlib.decompress(raw))
        except zlib.error:
            continue
    return out


def test_a_failure_is_reported_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PdfFailed, match="longer than"):
        render_pdf(_document("<p>x</p>" * 20000), timeout_seconds=0.01)
