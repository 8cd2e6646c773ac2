"""The one text check: NFC, trimmed, no control or format characters, not blank once invisible ones go."""

from __future__ import annotations

import pytest

from baoxue.platform.text import normalise, text_refusal


def test_normalise_composes_and_trims() -> None:
    assert normalise("  e\u0301cole\u3000") == "\u00e9cole"
    assert normalise(None) == ""
    assert normalise(42) == "42"


@pytest.mark.parametrize("value", [
    "\u200b\u200b", "\u200b \ufeff", "\u2060\u200d", "   ",
])
def test_blank_after_invisible_characters_is_refused_as_empty(value: str) -> None:
    assert text_refusal(normalise(value), label="名称") == "名称不能为空。"


@pytest.mark.parametrize("value", [
    "板当\u0000村", "板当\u0002村", "\u202e村当板", "板当\u200b村", "a\u0085b", "a\ue000b", "a\u2028b",
])
def test_control_format_and_private_characters_are_refused(value: str) -> None:
    problem = text_refusal(normalise(value), label="名称")
    assert problem is not None and "名称" in problem and "不可见" in problem


@pytest.mark.parametrize("value", ["板当村", "第1组 (东)", "Zhang San", "A-1_b.c", "多行\n文本\t制表"])
def test_ordinary_text_passes(value: str) -> None:
    assert text_refusal(normalise(value), label="名称", multiline=True) is None


def test_line_breaks_only_where_allowed() -> None:
    assert text_refusal("第一行\n第二行", label="名称") is not None
    assert text_refusal("第一行\n第二行", label="备注", multiline=True) is None


def test_optional_text_may_be_empty_but_not_invisible() -> None:
    assert text_refusal("", label="编码", required=False) is None
    assert text_refusal("\u200b", label="编码", required=False) is not None


def test_length_counts_characters_after_normalising() -> None:
    assert text_refusal("村" * 81, label="名称", max_length=80) == "名称不能超过 80 个字。"
    assert text_refusal(normalise("e\u0301" * 80), label="名称", max_length=80) is None
