"""Checking every row of a roster before anything is applied: one problem per bad cell, all at once.

A cell becomes the value `Student` stores (layout.py says how), or a problem at its row and
column in words a school clerk can act on. The checks here need nothing but the file, the
school's kind and today's date; what needs the database (another school's child, a 学籍号
already taken) is `service.py`'s, after these.

What is checked, beyond "readable":
* 身份证件号: a 公民身份号码 (居民身份证, 户口簿) has 18 characters, a real birth date and its
  GB 11643 check digit; one shown as 5.2E+17 has lost its last digits and cannot be recovered;
  it agrees with 出生日期 and 性别; type Z (其他) may have none, and then the first family
  member's number is required (DOMAIN.md §13);
* 全国学籍号: G + the ID number (when it starts with G), J or L + 18 characters; empty means
  G + the ID number (the normal case);
* 出生日期: a real date, not in the future, plausible for the grade;
* 年级 the school teaches; 班级 whose spelling says a grade agrees with 年级;
* the same child twice in the file (same ID number or 学籍号);
* every required field.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from baoxue.platform.clock import school_year
from baoxue.platform.imports import Reader, Row
from baoxue.platform.text import normalise, text_refusal
from baoxue.tenants.rosters import layout
from baoxue.tenants.rosters.layout import BY_KEY, CITIZEN_NUMBER_TYPES, GRADES, OTHER_ID, RosterColumn
from baoxue.tenants.students.idnumbers import CHECK_CHARS, WEIGHTS
from baoxue.tenants.tenancy.models import SCHOOL_KINDS
from baoxue.tenants.tenancy.service import GRADE_NAMES, SCHOOL_GRADES

# A child's age on 1 September of the school year, by grade: normally grade + 5 (a first grader
# is six); a year younger and several older (a late start, repeated years) still happen.
YOUNGEST_OVER_GRADE = 4
OLDEST_OVER_GRADE = 10

ID_DIGITS_LOST = ("身份证件号显示为“{shown}”这样的科学计数法，后几位数字已经丢失，无法还原：请把该列设置为“文本”格式，"
                  "重新填入完整的号码。")
_SCIENTIFIC = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")
_DATE_FORMS = (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
               re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"))
_MONTH_FORMS = (re.compile(r"^(\d{4})(\d{2})(?:\d{2})?$"), re.compile(r"^(\d{4})[-/.](\d{1,2})(?:[-/.]\d{1,2})?$"),
                re.compile(r"^(\d{4})年(\d{1,2})月(?:\d{1,2}日?)?$"))
_PHONE = re.compile(r"^[0-9+\-()（） /、,，]{5,20}$")
_DISTANCE = re.compile(r"^(\d+(?:\.\d+)?)\s*(公里|千米|km|KM|Km|米|m)?$")
_NUMERALS = "一二三四五六七八九"


# --- classes by grade and number, whatever the spelling ----------------------------------------

@dataclass(frozen=True)
class ClassRef:
    """Which class a row names: its grade and number ("一年级(1)班" = (1, 1)), or, for a class
    without a number ("火箭班"), its grade and name."""

    grade: int
    number: int | None
    name: str = ""

    @property
    def key(self) -> tuple[int, int | None, str]:
        return (self.grade, self.number, "" if self.number is not None else self.name)

    @property
    def canonical_name(self) -> str:
        """The name a class created for this row gets: "一年级（1）班", as the demo spells classes."""
        return f"{GRADE_NAMES[self.grade]}（{self.number}）班" if self.number is not None else self.name


def chinese_number(text: str) -> int | None:
    """1–99 written as digits or in Chinese numerals (一, 十, 十二, 二十三)."""
    if text.isdigit():
        return int(text)
    if not text or any(ch not in _NUMERALS + "十" for ch in text):
        return None
    if "十" not in text:
        return _NUMERALS.index(text) + 1 if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1 or "十" in ones:
        return None
    return (_NUMERALS.index(tens) + 1 if tens else 1) * 10 + (_NUMERALS.index(ones) + 1 if ones else 0)


def _plain(text: str) -> str:
    """Full-width letters, digits and brackets as ASCII, no spaces: 一年级（１）班 -> 一年级(1)班."""
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", text))


def parse_class(text: str) -> tuple[int | None, int | None]:
    """(grade or None, number or None) of a class name: 一年级(1)班, 一年级（1）班, 1年级1班,
    一(1)班, 初一(2)班, 七年级3班, (1)班, 1班, 1, 十二班."""
    rest = _plain(text)
    grade = None
    if m := re.match(r"(小学|初中)?([一二三四五六七八九1-9])年级", rest):
        grade = _digit(m.group(2)) + (6 if m.group(1) == "初中" else 0)
        rest = rest[m.end():]
    elif m := re.match(r"初([一二三1-3])", rest):
        grade = _digit(m.group(1)) + 6
        rest = rest[m.end():]
    elif m := re.match(r"([一二三四五六七八九1-9])(?=\()", rest):
        grade = _digit(m.group(1))
        rest = rest[m.end():]
    m = re.fullmatch(r"\(?(\d{1,2}|[一二三四五六七八九十]{1,3})\)?班?", rest)
    number = chinese_number(m.group(1)) if m else None
    return grade, (number if number else None)


def _digit(ch: str) -> int:
    return int(ch) if ch.isdigit() else _NUMERALS.index(ch) + 1


def class_name_key(name: str) -> str:
    """A class name without a number, compared as spelt but for width and spaces."""
    return _plain(name)


# --- one row --------------------------------------------------------------------------------------

@dataclass
class Parsed:
    """A row that passed every check of the file: what it stores, and whom and where it names."""

    row: Row
    values: dict[str, Any]  # `students` column -> value, for the file's columns (grade and class aside)
    klass: ClassRef
    id_number: str | None
    student_number: str

    @property
    def number(self) -> int:
        return self.row.number


def _age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


class RowChecker:
    """Checks rows one by one (notes problems on `reader`), then the file as a whole."""

    def __init__(self, reader: Reader, *, school_kind: str, today: date) -> None:
        self.reader = reader
        self.school_kind = school_kind
        self.today = today
        self.year_start = date(school_year(today), 9, 1)
        self.lookups = {c.key: c.codes.lookup() for c in layout.COLUMNS if c.codes is not None}

    # -- cells ------------------------------------------------------------------------------------

    def _add(self, row: Row, key: str, message: str) -> None:
        self.reader.add(row, key, message)

    def _text(self, row: Row, key: str) -> str | None:
        """The cell's text, NFC and trimmed; "" when empty; None when it has a problem (noted)."""
        cell = row.cells.get(key)
        if cell is None:
            return ""
        value = cell.value
        if cell.formula is not None:
            return None  # the engine has said so already
        if isinstance(value, str):  # the common case, kept short: ten thousand rows of forty cells
            value = value.strip()
            return value if value.isascii() or unicodedata.is_normalized("NFC", value) else normalise(value)
        if value is None:
            return ""
        text = self.reader.text(row, key)  # numbers, dates: the engine's rules
        return None if text is None else normalise(text)

    def text(self, row: Row, column: RosterColumn) -> str | None:
        text = self._text(row, column.key)
        if text is None:
            return None
        if problem := _refusal(text, column):
            self._add(row, column.key, problem)
            return None
        return text

    def code(self, row: Row, column: RosterColumn) -> Any:
        """The stored value of a coded cell; `_MISSING` when empty, None when it has a problem."""
        value = row.value(column.key)
        if isinstance(value, bool) and column.codes is layout.YES_NO:
            return value
        text = self._text(row, column.key) if not isinstance(value, bool) else str(value).upper()
        if text is None:
            return None
        if not text:
            if column.required:
                self._add(row, column.key, f"{column.header}不能为空。")
                return None
            return _MISSING
        table = self.lookups[column.key]
        found = table.get(text, _MISSING)
        if found is _MISSING:
            found = table.get(_plain(text), _MISSING)
        if found is _MISSING:
            choices = "、".join(column.codes.choices()[:8]) if column.codes else ""
            self._add(row, column.key, f"{column.header}“{text[:20]}”无法识别，应为：{choices}（或对应代码）。")
            return None
        return found

    def birth_date(self, row: Row, column: RosterColumn) -> date | None:
        value = row.value(column.key)
        if row.cells.get(column.key) is not None and row.cells[column.key].formula is not None:
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if value is None or (isinstance(value, str) and not value.strip()):
            self._add(row, column.key, f"{column.header}不能为空。")
            return None
        text = _plain(str(int(value)) if isinstance(value, int | float) and not isinstance(value, bool)
                      and float(value).is_integer() else str(value))
        text = text.split("T")[0].split(" ")[0] if re.match(r"^\d{4}-\d{2}-\d{2}[T ]", text) else text
        for form in _DATE_FORMS:
            if m := form.match(text):
                try:
                    return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
                except ValueError:
                    self._add(row, column.key, f"{column.header}“{text}”不是真实的日期。")
                    return None
        self._add(row, column.key, f"{column.header}“{text[:20]}”无法识别：应为 YYYYMMDD（如 20150315）、"
                                   "YYYY-MM-DD，或日期格式的单元格。")
        return None

    def month(self, row: Row, column: RosterColumn) -> str | None:
        value = row.value(column.key)
        if isinstance(value, datetime | date):
            return f"{value:%Y%m}"
        text = self._text(row, column.key)
        if not text:
            return text
        for form in _MONTH_FORMS:
            if (m := form.match(_plain(text))) and 1 <= int(m.group(2)) <= 12 and 1990 <= int(m.group(1)) <= \
                    self.today.year + 1:
                return f"{int(m.group(1)):04d}{int(m.group(2)):02d}"
        self._add(row, column.key, f"{column.header}“{text[:20]}”无法识别：应为 YYYYMM（如 202309）。")
        return None

    def id_number(self, row: Row, column: RosterColumn) -> str | None:
        """The number as written (upper-case X, no spaces); "" when empty; None on a problem."""
        value = row.value(column.key)
        if isinstance(value, int | float) and not isinstance(value, bool) and (
                abs(value) >= 1e15 or (isinstance(value, float) and not value.is_integer())):
            self._add(row, column.key, ID_DIGITS_LOST.format(shown=f"{value:.6g}".upper()))
            return None
        text = self._text(row, column.key)
        if text is None:
            return None
        text = _plain(text).upper()
        if _SCIENTIFIC.match(text):
            self._add(row, column.key, ID_DIGITS_LOST.format(shown=text))
            return None
        return text

    def citizen_number_problem(self, number: str, header: str) -> str | None:
        """Why `number` is not a 公民身份号码 (GB 11643), in words, or None."""
        if len(number) != 18:
            return f"{header}应为 18 位（前 17 位是数字，末位是数字或 X），“{number[:24]}”有 {len(number)} 位。"
        if not number[:17].isascii() or not number[:17].isdigit() or number[17] not in "0123456789X":
            return f"{header}“{number}”含有数字以外的字符（只有末位可以是 X）。"
        try:
            date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        except ValueError:
            return f"{header}第 7–14 位的出生日期 {number[6:14]} 不是真实的日期：请核对号码。"
        expected = CHECK_CHARS[sum(int(c) * w for c, w in zip(number[:17], WEIGHTS, strict=True)) % 11]
        if expected != number[17]:
            return (f"{header}校验位不对：按前 17 位计算末位应为 {expected}，现为 {number[17]}；"
                    "请核对号码是否抄错。")
        return None

    def phone(self, row: Row, column: RosterColumn) -> str | None:
        text = self.text(row, column)
        if text and not _PHONE.match(text):
            self._add(row, column.key, f"{column.header}“{text[:24]}”不像电话号码：只能包含数字、-、+ 和空格，最多 20 位。")
            return None
        return text

    def distance(self, row: Row, column: RosterColumn) -> float | None | object:
        value = row.value(column.key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            number, unit = float(value), None
        else:
            text = self._text(row, column.key)
            if text is None:
                return _PROBLEM
            if not text:
                return None
            m = _DISTANCE.match(_plain(text))
            if m is None:
                self._add(row, column.key, f"{column.header}“{text[:20]}”无法识别：应填公里数，如 2.5。")
                return _PROBLEM
            number, unit = float(m.group(1)), m.group(2)
        if unit in ("米", "m"):
            number /= 1000
        if not 0 <= number <= 500:
            self._add(row, column.key, f"{column.header}应在 0 到 500 公里之间。")
            return _PROBLEM
        return round(number, 2)

    def relation(self, row: Row, column: RosterColumn) -> str | None:
        text = self.text(row, column)
        if text and text.isdigit():
            name = layout.RELATIONS.get(text.zfill(2))
            if name is None:
                self._add(row, column.key, f"{column.header}代码“{text}”无法识别：请填写关系名称，如 父亲、母亲、祖父。")
                return None
            return name
        return text

    def grade(self, row: Row) -> int | None | object:
        """The 年级 cell: a grade, None when empty (the 班级 may say it), _PROBLEM when unreadable."""
        if "grade" not in row.cells:
            return None
        value = row.value("grade")
        text = str(int(value)) if isinstance(value, int | float) and not isinstance(value, bool) and \
            float(value).is_integer() else self._text(row, "grade")
        if text is None:
            return _PROBLEM
        if not text:
            return None
        grade = GRADES.get(_plain(text))
        if grade is None:
            self._add(row, "grade", f"年级“{text[:20]}”无法识别：应为 一年级…九年级、1–9，或年级代码 11–16、21–23。")
            return _PROBLEM
        return grade

    # -- the row ------------------------------------------------------------------------------------

    def check(self, row: Row) -> Parsed | None:
        """Every cell of the row, each problem noted; the row's values when it has none."""
        lazy = row
        # Each cell once, as a plain dict: the checks below look at some cells several times.
        row = Row(row.sheet, row.number, dict(row.cells.items()))
        before = len(self.reader.problems)
        values: dict[str, Any] = {}
        for key in row.cells:
            column = BY_KEY.get(key)
            if column is None or column.kind in ("grade", "class"):
                continue
            value = self._value(row, column)
            if value is not _PROBLEM:
                values[key] = value
        klass = self._class(row)
        id_number, student_number = self._identity(row, values)
        self._birth_agrees(row, values, klass, id_number)
        self._members(row, values)
        if len(self.reader.problems) != before or klass is None or student_number is None:
            return None
        return Parsed(lazy, values, klass, id_number or None, student_number)

    def _value(self, row: Row, column: RosterColumn) -> Any:
        kind = column.kind
        if kind == "text":
            found = self.text(row, column)
        elif kind == "code":
            found = self.code(row, column)
            if found is _MISSING:
                return _default(column)
        elif kind == "date":
            found = self.birth_date(row, column)
        elif kind == "month":
            found = self.month(row, column)
        elif kind == "id":
            found = self.id_number(row, column)  # "" for none: whether that may be is _identity's question
        elif kind == "student_number":
            found = self.id_number(row, column)
        elif kind == "phone":
            found = self.phone(row, column)
        elif kind == "distance":
            return self.distance(row, column)
        elif kind == "relation":
            found = self.relation(row, column)
        else:  # pragma: no cover - a layout kind without a reader
            raise ValueError(kind)
        return _PROBLEM if found is None else found

    def _class(self, row: Row) -> ClassRef | None:
        grade = self.grade(row)
        text = self._text(row, "class") if "class" in row.cells else ""
        if text is None or grade is _PROBLEM:
            return None
        if not text:
            self._add(row, "class", "班级不能为空。")
            return None
        said_grade, number = parse_class(text)
        if grade is None and said_grade is None:
            self._add(row, "grade" if "grade" in row.cells else "class", "年级不能为空（班级名称中也没有写明年级）。")
            return None
        if grade is not None and said_grade is not None and said_grade != grade:
            self._add(row, "class", f"班级“{text}”是{GRADE_NAMES[said_grade]}的，与年级“{GRADE_NAMES[grade]}”不一致。")
            return None
        grade = grade if isinstance(grade, int) else said_grade
        if grade is None:  # pragma: no cover - one of the two is set (checked above)
            return None
        allowed = SCHOOL_GRADES.get(self.school_kind, range(1, 10))
        if grade not in allowed:
            self._add(row, "grade" if "grade" in row.cells else "class",
                      f"本校是{SCHOOL_KINDS.get(self.school_kind, '学校')}，只有{GRADE_NAMES[allowed[0]]}到"
                      f"{GRADE_NAMES[allowed[-1]]}，没有{GRADE_NAMES[grade]}。")
            return None
        if number is None:
            name = normalise(text)
            if problem := text_refusal(name, label="班级", max_length=40):
                self._add(row, "class", problem)
                return None
            return ClassRef(grade, None, name)
        return ClassRef(grade, number)

    def _identity(self, row: Row, values: dict[str, Any]) -> tuple[str | None, str | None]:
        """The ID number ("" for type Z without one) and the 全国学籍号, agreeing; None on a problem."""
        id_type = values.get("id_type")
        number = values.get("id_number")
        if id_type is None or number is None:
            return None, None
        if not number and id_type != OTHER_ID:
            self._add(row, "id_number", "身份证件号不能为空（只有证件类型为“其他”时可以不填）。")
            return None, None
        if id_type in CITIZEN_NUMBER_TYPES:
            if problem := self.citizen_number_problem(number, "身份证件号"):
                self._add(row, "id_number", problem)
                return None, None
        elif len(number) > 18:
            self._add(row, "id_number", "身份证件号不能超过 18 位。")
            return None, None
        if not number and not self._guardian_number(row, values):
            return None, None
        return number, self._student_number(row, values, id_type, number)

    def _guardian_number(self, row: Row, values: dict[str, Any]) -> bool:
        """Type Z without a number: the first family member's ID number is required (DOMAIN.md §13)."""
        if "family1_id_number" not in row.cells:
            self._add(row, "id_number", "证件类型为“其他”且没有证件号时，须填写成员1（监护人）的身份证件号，"
                                        "但文件中没有“成员1身份证件号”列。")
            return False
        if "family1_id_number" not in values:
            return False  # the cell's own problem is noted
        if not values["family1_id_number"]:
            self._add(row, "family1_id_number", "学生证件类型为“其他”且没有证件号，须填写成员1（监护人）的身份证件号。")
            return False
        return True

    def _student_number(self, row: Row, values: dict[str, Any], id_type: str, number: str) -> str | None:
        given = values.get("student_number", "")
        if given is None:
            return None
        if not given:
            if id_type in CITIZEN_NUMBER_TYPES:
                return "G" + number
            self._add(row, "student_number" if "student_number" in row.cells else "id_number",
                      "全国学籍号不能为空（证件不是居民身份证或户口簿时，无法按身份证件号生成）。")
            return None
        header = "全国学籍号"
        if len(given) != 19 or given[0] not in "GJL" or not given[1:].isalnum() or not given[1:].isascii():
            self._add(row, "student_number", f"{header}“{given[:24]}”格式不对：应为 19 位，以 G、J 或 L 开头"
                                             "（G + 18 位身份证件号）。")
            return None
        if given[0] == "G" and number and id_type in CITIZEN_NUMBER_TYPES and given[1:] != number:
            self._add(row, "student_number", f"{header} {given} 与身份证件号 {number} 不一致："
                                             "G 开头的学籍号应为 G + 身份证件号。")
            return None
        return given

    def _birth_agrees(self, row: Row, values: dict[str, Any], klass: ClassRef | None, id_number: str | None) -> None:
        birth = values.get("birth_date")
        if birth is None:
            return
        if birth > self.today:
            self._add(row, "birth_date", f"出生日期 {birth:%Y%m%d} 晚于今天。")
            return
        if id_number and values.get("id_type") in CITIZEN_NUMBER_TYPES and id_number[6:14] != f"{birth:%Y%m%d}":
            self._add(row, "birth_date", f"出生日期 {birth:%Y%m%d} 与身份证件号中的出生日期 {id_number[6:14]} 不一致。")
            return
        gender = values.get("gender")
        if id_number and gender and values.get("id_type") in CITIZEN_NUMBER_TYPES:
            by_number = "男" if int(id_number[16]) % 2 else "女"
            if by_number != gender:
                self._add(row, "gender", f"性别“{gender}”与身份证件号不一致（第 17 位表示{by_number}）。")
        if klass is not None:
            age = _age_on(birth, self.year_start)
            low, high = klass.grade + YOUNGEST_OVER_GRADE, klass.grade + OLDEST_OVER_GRADE
            if not low <= age <= high:
                self._add(row, "birth_date", (
                    f"按出生日期 {birth:%Y%m%d}，{self.year_start.year} 年 9 月 1 日时 {age} 岁，与{GRADE_NAMES[klass.grade]}"
                    f"不符（{GRADE_NAMES[klass.grade]}学生一般 {low}–{high} 岁）：请核对出生日期或年级。"))

    def _members(self, row: Row, values: dict[str, Any]) -> None:
        """A family member's ID number is checked like the child's when it is a 公民身份号码."""
        for n in (1, 2):
            number = values.get(f"family{n}_id_number")
            if not number:
                continue
            id_type = values.get(f"family{n}_id_type", "") or "1"
            header = BY_KEY[f"family{n}_id_number"].header
            if id_type in CITIZEN_NUMBER_TYPES and (problem := self.citizen_number_problem(number, header)):
                self._add(row, f"family{n}_id_number", problem)
            elif len(number) > 18:
                self._add(row, f"family{n}_id_number", f"{header}不能超过 18 位。")

    # -- the file -----------------------------------------------------------------------------------

    def duplicates(self, parsed: list[Parsed]) -> list[Parsed]:
        """The rows naming a child an earlier row names already are problems (at the later row)."""
        by_id: dict[str, int] = {}
        by_number: dict[str, int] = {}
        kept = []
        for p in parsed:
            if p.id_number and p.id_number in by_id:
                self._add(p.row, "id_number", f"与第 {by_id[p.id_number]} 行是同一个学生（身份证件号相同）。")
                continue
            if p.student_number in by_number:
                self._add(p.row, "student_number" if "student_number" in p.row.cells else "id_number",
                          f"与第 {by_number[p.student_number]} 行是同一个学生（全国学籍号相同）。")
                continue
            if p.id_number:
                by_id[p.id_number] = p.number
            by_number[p.student_number] = p.number
            kept.append(p)
        return kept


def _refusal(text: str, column: RosterColumn) -> str | None:
    """`text_refusal`, with a short way for the common cell (printable: nothing invisible in it)."""
    if text.isprintable():
        if not text:
            return f"{column.header}不能为空。" if column.required else None
        if column.max_length and len(text) > column.max_length:
            return f"{column.header}不能超过 {column.max_length} 个字。"
        return None
    return text_refusal(text, label=column.header, max_length=column.max_length or None, required=column.required)


class _Sentinel:
    def __repr__(self) -> str:
        return type(self).__name__


_MISSING: Any = _Sentinel()  # an empty optional cell: the column's default
_PROBLEM: Any = _Sentinel()  # a cell with a problem (already noted)

# What an empty optional coded cell stores (a new student's default; an existing one's is replaced).
_DEFAULTS: dict[str, Any] = {"ethnicity": "汉族", "is_boarding": False, "hukou_nature": "", "left_behind": 0,
                             "is_migrant": False, "is_orphan": False, "disability": "", "needs_aid": False,
                             "receives_subsidy": False}


def _default(column: RosterColumn) -> Any:
    if column.key.startswith("family"):
        return False if column.key.endswith("is_guardian") else ""
    return _DEFAULTS.get(column.key, "")
