"""The one check of text people type: what every name, title and code goes through before it is stored.

`normalise` composes (NFC, so "é" typed two ways is one name) and trims. `text_refusal` says
in Chinese what is wrong, or None: empty (also when only invisible characters are left), too
long, or holding a character no one can see or type on purpose — control characters (a
"\\u0002" in a village name broke every xlsx export), format characters (zero-width spaces,
the right-to-left override that makes "exe.txt" read "txt.exe"), private-use code points and
lone surrogates, and line or paragraph separators. Ordinary spaces always pass; tabs and line
breaks only in multi-line text.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Any

REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Zl", "Zp"})
MULTILINE_WHITESPACE = frozenset("\t\n\r")
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u180e")


def normalise(value: Any) -> str:
    """NFC-composed and trimmed; None is the empty string."""
    if value is None:
        return ""
    return unicodedata.normalize("NFC", str(value)).strip()


def invisible_character(value: str, *, multiline: bool = False) -> str | None:
    """The first character of `value` no one should store, or None."""
    for ch in value:
        if multiline and ch in MULTILINE_WHITESPACE:
            continue
        if unicodedata.category(ch) in REFUSED_CATEGORIES:
            return ch
    return None


def text_refusal(value: str, *, label: str, max_length: int | None = None, required: bool = True,
                 multiline: bool = False) -> str | None:
    """Why `value` (already normalised) cannot be stored as the field `label`, or None."""
    visible = "".join(ch for ch in value if ch not in ZERO_WIDTH).strip()
    if not visible:
        if required:
            return f"{label}不能为空。"
        if value:
            return f"{label}只包含不可见字符，请删除后重试。"
    if (ch := invisible_character(value, multiline=multiline)) is not None:
        return f"{label}含有不可见的控制字符（U+{ord(ch):04X}），请删除后重试。"
    if max_length is not None and len(value) > max_length:
        return f"{label}不能超过 {max_length} 个字。"
    return None


def field_text(value: Any, errors: dict[str, str], key: str, *, label: str, max_length: int | None = None,
               required: bool = True, multiline: bool = False) -> str:
    """A form's text field, normalised; its refusal (if any) is added to `errors` under `key`."""
    text = normalise(value)
    if problem := text_refusal(text, label=label, max_length=max_length, required=required, multiline=multiline):
        errors[key] = problem
    return text


def field_date(value: Any, errors: dict[str, str], key: str, *, label: str, required: bool = False) -> date | None:
    """A date from the API (a date) or a form ("2026-11-27"; blank is None, or refused if required)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    text = normalise(value)
    if not text:
        if required:
            errors[key] = f"请填写{label}。"
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[key] = f"{label}的格式应为 年-月-日，例如 2026-11-27。"
        return None
