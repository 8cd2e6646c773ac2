"""Excel imports: reading an uploaded workbook safely, checking it against a sheet spec, answering.

Every import (the structure today; rosters, the census and task lists next) goes through here:

1. `preflight` refuses at once, with a Chinese message (`FileRefused`, which names its `reason`),
   what is plainly not a workbook. An .xlsx is judged by its zip's directory only (no XML is
   parsed, nothing is inflated): too many parts, a part or the whole too large once inflated,
   an absurd compression ratio. An .xls (Excel 97–2003, BIFF8), taken only where
   `Limits.xls` allows it, by its size and its OLE2 signature.
2. The parse runs in a child process (`xlsx_sandbox.py`, python-calamine) capped in memory
   and CPU and killed after its wall time, so no upload can starve the web server; it returns
   plain rows. A sheet's claimed dimension is ignored; content past the row or column limit
   is a problem ("超过 N 行"), never a silent truncation; trailing empty rows do not count.
   Each limit is per call (`Limits`; `Limits.for_rows` scales every size cap to a sheet of
   N rows, so none of them refuses a clean file the row limit would take).
3. `read_upload` reads each spec entry's sheet: a named one, or `FIRST_SHEET` (the first
   visible worksheet, whatever its name). It finds the header row (row 1, or for a
   `Sheet(..., header_within=20)` the best match among the first 20 rows, title rows above
   it ignored) and each spec column in it by its header text or one of its `also` names,
   wherever it stands. `Reader` turns cells into values, noting every problem as (sheet,
   row, column letter, reason) with the sheet's real name and Excel's row numbers, so the
   caller can check everything first and import all or nothing. A formula is never read
   as a value: the clerk is told to type the value.
4. `ImportRejected.error_workbook()` gives the uploaded sheets back as an .xlsx (title rows
   too), each problem cell filled red with its reason as a comment, a 问题 column on the
   header row with each row's reasons, and a 问题 sheet listing them all, for the clerk to fix
   and upload again; `write_template` writes the empty workbook to fill in (drop-downs,
   notes, text columns).

A caller that writes rows should `one_at_a_time` (PostgreSQL: a second import of the same kind
in the township waits, then sees the first one's rows as duplicates) and wrap its writes in
`duplicates_as_conflict` (a race the checks could not see is a 409, never a 500).

A spec, for example (the national student roster: any sheet name, a title above the header)::

    ROSTER = {FIRST_SHEET: Sheet((
        Column("姓名", "name", required=True),
        Column("身份证件号", "id_number", required=True, also=("证件号码", "身份证号")),
        Column("出生日期", "birth_date", text=False),
    ), header_within=20)}
    upload = read_upload(data, ROSTER, Limits.for_rows(20_000, 80, xls=True))
    for row in upload.rows[FIRST_SHEET]: ...
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any, NamedTuple

from openpyxl import Workbook
from openpyxl.cell import Cell as SheetCell
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import text as sql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from baoxue.platform import xlsx_sandbox
from baoxue.platform.errors import Conflict, InvalidInput
from baoxue.platform.spreadsheets import FORMULA_STARTS, printable

log = logging.getLogger("baoxue.imports")

MB = 1024 * 1024
NOT_XLSX = "文件不是有效的 Excel（.xlsx）文件。"
NOT_EXCEL = "文件不是有效的 Excel（.xlsx 或 .xls）文件。"  # where .xls is taken too
XLS_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")  # an OLE2 compound file: what an .xls is
HELP_SHEET = "说明"  # the template's first sheet
PROBLEM_SHEET = "问题"  # the error workbook's first sheet, and its column of reasons
NUMBER_LOST = "此处应填文字，但单元格是数字（长数字会丢失位数）：请把该列设为“文本”格式后重新输入。"
SAVE_AS_NEW = "请在 Excel 或 WPS 中把它“另存为”一个新的 .xlsx 文件，删除多余的工作表、图片和空白格式后重新上传。"
CONCURRENT = ("刚才有另一项导入或操作同时写入了相同的数据，本次导入没有保存任何数据。"
              "请稍后重新上传：系统会指出哪些行已经存在。")


@dataclass(frozen=True)
class Limits:
    """What one upload may be and cost. The defaults suit a township's files with room to spare."""

    upload_bytes: int = 5 * MB  # the file as uploaded
    parts: int = 200  # zip entries: a real workbook has a dozen, plus a few per sheet
    part_bytes: int = 25 * MB  # any one entry, inflated
    shared_strings_bytes: int = 10 * MB  # sharedStrings.xml is held in memory whole
    unzipped_bytes: int = 50 * MB  # all entries, inflated
    ratio: int = 100  # inflated / compressed, for entries over ratio_floor_bytes
    ratio_floor_bytes: int = 1 * MB
    rows: int = 5000  # data rows per sheet, the header row (and title rows above it) not counted
    columns: int = 100  # per sheet
    memory_bytes: int = 512 * MB  # the reading process's address space
    seconds: float = 20  # the reading process's wall time
    xls: bool = False  # the old binary .xls (Excel 97–2003) is taken too

    @property
    def upload_mb(self) -> int:
        return self.upload_bytes // MB

    @property
    def not_excel(self) -> str:
        """The message for a file that is not a workbook this call takes."""
        return NOT_EXCEL if self.xls else NOT_XLSX

    @classmethod
    def for_rows(cls, rows: int, columns: int = 100, **other: Any) -> Limits:
        """Limits for sheets of up to `rows` data rows by `columns` columns, every size cap
        scaled so that a clean, full file of that size passes them all (an .xls included):
        only the row and column limits then refuse a larger one. `other` sets any field."""
        cells = rows * columns
        scaled = cls(upload_bytes=max(LIMITS.upload_bytes, cells * _UPLOAD_BYTES_PER_CELL),
                     part_bytes=max(LIMITS.part_bytes, cells * _XML_BYTES_PER_CELL),
                     shared_strings_bytes=max(LIMITS.shared_strings_bytes, cells * _TEXT_BYTES_PER_CELL),
                     unzipped_bytes=max(LIMITS.unzipped_bytes, cells * (_XML_BYTES_PER_CELL + _TEXT_BYTES_PER_CELL)),
                     rows=rows, columns=columns,
                     memory_bytes=max(LIMITS.memory_bytes, _CHILD_BASE_BYTES + cells * _CHILD_BYTES_PER_CELL),
                     seconds=max(LIMITS.seconds, cells * _SECONDS_PER_CELL))
        return replace(scaled, **other)


LIMITS = Limits()

# What a full cell costs, measured on rosters of 10,000 × 70 and 20,000 × 80 cells (ID numbers,
# names, dates, short text), with room to spare: for `Limits.for_rows`.
_UPLOAD_BYTES_PER_CELL = 16  # an .xls stores ~13 bytes a cell; an .xlsx compresses to ~4
_XML_BYTES_PER_CELL = 80  # a sheet's XML: ~47 bytes a cell with inline strings, ~33 with shared ones
_TEXT_BYTES_PER_CELL = 40  # sharedStrings.xml, were every cell a different text
_CHILD_BASE_BYTES = 64 * MB  # the child's address space before any cell: ~30 MB
_CHILD_BYTES_PER_CELL = 400  # and per cell: ~150 bytes for an .xlsx, ~245 for an .xls
_SECONDS_PER_CELL = 20e-6  # the child's wall time: ~1.6 µs a cell (~4 µs more for an unusual layout)


class FileRefused(InvalidInput):
    """The file as a whole cannot be read; `reason` says which check refused it (for tests and logs)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__({"file": message})
        self.reason = reason


# --- 1. the file, before anything is parsed ---------------------------------------------------

def _mb(size: int) -> str:
    return f"{size / MB:.1f}".removesuffix(".0")


def preflight(data: bytes, limits: Limits = LIMITS) -> str:
    """Refuse what is not a plausible workbook, cheaply by construction; say which it is:
    "xlsx" (judged by its zip directory alone) or "xls" (by its signature, where taken)."""
    if not data:
        raise FileRefused("empty", "请选择要上传的文件。")
    if len(data) > limits.upload_bytes:
        raise FileRefused("upload_size", f"文件太大：不能超过 {limits.upload_mb} MB。")
    if limits.xls and data.startswith(XLS_SIGNATURE):
        return "xls"  # nothing more to see without parsing it: the child's caps bound that
    _check_zip(data, limits)
    return "xlsx"


def _check_zip(data: bytes, limits: Limits) -> None:
    try:
        with zipfile.ZipFile(BytesIO(data)) as book:
            entries = book.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise FileRefused("not_zip", limits.not_excel) from None
    if len(entries) > limits.parts:
        raise FileRefused("parts", f"文件结构异常：内含 {len(entries)} 个部件，超过上限 {limits.parts} 个。{SAVE_AS_NEW}")
    names = [entry.filename for entry in entries]
    if "[Content_Types].xml" not in names or len(set(names)) != len(names):
        raise FileRefused("not_xlsx", limits.not_excel)
    total = 0
    for entry in entries:
        _check_entry(entry, limits)
        total += entry.file_size
    if total > limits.unzipped_bytes:
        raise FileRefused("unzipped_size", f"文件解压后约 {_mb(total)} MB，超过上限 {_mb(limits.unzipped_bytes)} MB。"
                                           f"{SAVE_AS_NEW}")


def _check_entry(entry: zipfile.ZipInfo, limits: Limits) -> None:
    if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or entry.flag_bits & 0x1:
        raise FileRefused("not_xlsx", limits.not_excel)  # Excel writes neither other methods nor zip encryption
    size = entry.file_size
    if entry.filename.lower().endswith("sharedstrings.xml") and size > limits.shared_strings_bytes:
        raise FileRefused("shared_strings", f"文件中的文字内容解压后约 {_mb(size)} MB，超过上限 "
                                            f"{_mb(limits.shared_strings_bytes)} MB。{SAVE_AS_NEW}")
    if size > limits.part_bytes:
        raise FileRefused("part_size", f"文件中的“{entry.filename[:60]}”解压后约 {_mb(size)} MB，超过上限 "
                                       f"{_mb(limits.part_bytes)} MB。{SAVE_AS_NEW}")
    if size > limits.ratio_floor_bytes and size > limits.ratio * max(entry.compress_size, 1):
        ratio = size // max(entry.compress_size, 1)
        raise FileRefused("ratio", f"文件压缩比异常：“{entry.filename[:60]}”压缩了约 {ratio} 倍（上限 {limits.ratio} 倍），"
                                   f"不像正常的 Excel 文件，已拒绝。{SAVE_AS_NEW}")


# --- 2. the parse, in a capped child process ---------------------------------------------------

@dataclass(frozen=True)
class RawSheet:
    """One sheet as the child read it. rows[0] is row 1; a row may be shorter than another."""

    name: str
    rows: list[list[Any]]
    formulas: dict[tuple[int, int], str]  # (row, column), both 1-based -> the formula's text
    last_row: int  # the last row holding anything (0 when empty), wherever it is
    last_column: int


# A spec key: the first visible worksheet, whatever its name, other than the 说明 and 问题 sheets
# this module writes (so a filled-in template and a fixed error workbook read the same way).
FIRST_SHEET = xlsx_sandbox.FIRST_SHEET


@dataclass(frozen=True)
class Book:
    """What the child read: every sheet's name, and the sheets asked for."""

    names: list[str]  # every sheet of the workbook, in order
    sheets: dict[str, RawSheet]  # the sheets asked for that the workbook has, by their real names
    first: str | None = None  # what FIRST_SHEET reads

    def sheet(self, key: str) -> RawSheet | None:
        """The sheet a spec key reads: the one of that name, or for FIRST_SHEET the first."""
        name = self.first if key == FIRST_SHEET else key
        return None if name is None else self.sheets.get(name)


_SANDBOX = Path(xlsx_sandbox.__file__).resolve()
_CHILD_ENV_DROP = ("RUST_BACKTRACE", "RUST_LIB_BACKTRACE")


def read_book(data: bytes, sheets: Iterable[str], limits: Limits = LIMITS, *, header_within: int = 1) -> Book:
    """Preflight, then the child's parse of the named sheets (FIRST_SHEET: the first). Raises
    FileRefused, never hangs. `header_within`: how many rows may stand above the data."""
    kind = preflight(data, limits)
    options = json.dumps({
        "format": kind, "sheets": list(sheets), "not_first": [HELP_SHEET, PROBLEM_SHEET],
        "max_rows": limits.rows + header_within,
        "max_columns": limits.columns, "max_total_bytes": limits.unzipped_bytes,
        "memory_bytes": limits.memory_bytes, "cpu_seconds": int(limits.seconds) + 1,
    })
    env = {k: v for k, v in os.environ.items() if k not in _CHILD_ENV_DROP}
    try:
        # -I: no PYTHON* variables, no user site, and the script's folder (platform/, which
        # shadows the standard library's `platform`) is not put on sys.path.
        done = subprocess.run([sys.executable, "-I", str(_SANDBOX), options], input=data, capture_output=True,
                              timeout=limits.seconds, check=False, env=env)
    except subprocess.TimeoutExpired:
        raise _timed_out(limits) from None
    return _answer(done, limits, kind)


def _timed_out(limits: Limits) -> FileRefused:
    log.warning("workbook read stopped after %s s", limits.seconds)
    return FileRefused("timeout", f"读取文件超时：{limits.seconds:g} 秒内没有读完，已停止。{SAVE_AS_NEW}")


def _answer(done: subprocess.CompletedProcess[bytes], limits: Limits, kind: str) -> Book:
    code = done.returncode
    if code in (xlsx_sandbox.EXIT_OUT_OF_MEMORY, -signal.SIGABRT):
        log.warning("workbook read ran out of memory (limit %s)", limits.memory_bytes)
        raise FileRefused("memory", f"读取文件所需内存超过上限（{_mb(limits.memory_bytes)} MB），已停止。{SAVE_AS_NEW}")
    if code in (-signal.SIGXCPU, -signal.SIGKILL):
        raise _timed_out(limits)
    try:
        result = json.loads(done.stdout, object_hook=_untagged) if code == 0 else None
    except ValueError:
        result = None
    if result is None:
        log.info("%s not readable (exit %s): %s", kind, code, done.stderr.decode("utf-8", "replace")[-300:])
        raise FileRefused(f"not_{kind}", limits.not_excel)
    return Book(names=result["names"], first=result["first"], sheets={
        sheet["name"]: RawSheet(name=sheet["name"], rows=sheet["rows"],
                                formulas={(r, c): f for r, c, f in sheet["formulas"]},
                                last_row=sheet["last_row"], last_column=sheet["last_column"])
        for sheet in result["sheets"]
    })


_TAGGED: dict[str, Callable[[Any], Any]] = {
    "$datetime": datetime.fromisoformat, "$date": date.fromisoformat, "$time": time.fromisoformat,
    "$seconds": lambda s: timedelta(seconds=s),
}


def _untagged(value: dict[str, Any]) -> Any:
    """The child's JSON tag for a date or time ({"$date": "2024-09-01"}) as the value; json
    calls this for objects only, so the cells of text and numbers cost nothing here."""
    if len(value) == 1:
        ((kind, raw),) = value.items()
        if kind in _TAGGED:
            return _TAGGED[kind](raw)
    return value


# --- 3. the spec, rows and typed values -------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """One column of a sheet spec: found in the header row by `header` or any name in `also`
    (see `header_name`), read as `key`. The template writes `header`."""

    header: str
    key: str
    width: int = 14
    required: bool = False
    text: bool = True  # kept as text ("@"), so phone numbers and codes keep every digit
    choices: tuple[str, ...] = ()  # a drop-down list of values
    strict: bool = True  # the drop-down refuses other values; False: it only suggests
    ref: str = ""  # a drop-down from another sheet's first column; other values still allowed
    note: str = ""  # the header's comment in the template
    also: tuple[str, ...] = ()  # other headers that name this column, e.g. ("证件号码", "身份证号")


@dataclass(frozen=True)
class Sheet:
    """A spec entry with its options; a plain sequence of Columns is `Sheet(columns)`."""

    columns: Sequence[Column]
    # The header is row 1 or, above 1, the row among the first `header_within` that names every
    # required column and the most columns (the earliest on a tie); rows above it are titles.
    header_within: int = 1


# A sheet's name, or FIRST_SHEET -> its columns (or a Sheet). Read by `read_upload`: rows,
# problems and the error workbook name each sheet by its real name.
Spec = Mapping[str, Sequence[Column] | Sheet]


def _entry(value: Sequence[Column] | Sheet) -> Sheet:
    return value if isinstance(value, Sheet) else Sheet(tuple(value))


@dataclass(frozen=True)
class Problem:
    sheet: str
    row: int
    column: str  # a letter; "" when the problem is the whole row (a missing header)
    message: str

    @property
    def key(self) -> str:
        # "班级!B7" like Excel names a cell; "班级!1:1" (a whole row) when no column applies.
        return f"{self.sheet}!{self.column}{self.row}" if self.column else f"{self.sheet}!{self.row}:{self.row}"


class ImportRejected(InvalidInput):
    """The file has problems: nothing was imported. `problems` keeps sheet/row/column apart for pages."""

    def __init__(self, problems: list[Problem], upload: Upload | None = None) -> None:
        errors: dict[str, str] = {}
        for p in problems:
            errors[p.key] = f"{errors[p.key]}；{p.message}" if p.key in errors else p.message
        super().__init__(errors, detail=f"文件中有 {len(problems)} 处错误，没有导入任何数据；请修改后重新上传。")
        self.problems = problems
        self.upload = upload

    def error_workbook(self) -> bytes | None:
        """The uploaded rows with a 问题 column, for the clerk to fix; None when no file was read."""
        return self.upload.error_workbook(self.problems) if self.upload is not None else None


class Cell(NamedTuple):
    value: Any  # None when empty, or when the cell holds a formula
    letter: str
    formula: str | None = None


_NO_CELL = Cell(None, "")


class RowCells(Mapping[str, Cell]):
    """A row's cells by column key, each made when asked for: ten thousand rows of seventy
    columns then cost no Cell object each (and no garbage collection over them)."""

    __slots__ = ("_formulas", "_places", "_values")

    def __init__(self, values: Sequence[Any], places: Mapping[str, tuple[int, str]],
                 formulas: Mapping[str, str] | None = None) -> None:
        self._values = values  # the row as uploaded
        self._places = places  # column key -> (0-based index, letter), shared by the sheet's rows
        self._formulas = formulas  # column key -> formula, for the cells holding one

    def __getitem__(self, key: str) -> Cell:
        index, letter = self._places[key]
        if self._formulas and key in self._formulas:
            return Cell(None, letter, self._formulas[key])
        return Cell(self._values[index] if index < len(self._values) else None, letter)

    def __contains__(self, key: object) -> bool:
        return key in self._places

    def __iter__(self) -> Iterator[str]:
        return iter(self._places)

    def __len__(self) -> int:
        return len(self._places)


@dataclass
class Row:
    sheet: str
    number: int
    cells: Mapping[str, Cell]  # column key -> the cell, for the spec's columns found in the header

    def letter(self, key: str) -> str:
        return self.cells.get(key, _NO_CELL).letter

    def value(self, key: str) -> Any:
        return self.cells.get(key, _NO_CELL).value


def _formula_problem(formula: str) -> str:
    shown = f"（={formula[:40]}）" if formula else ""
    return (f"此单元格是公式{shown}，系统不读取公式的结果：请删除公式，直接输入内容"
            "（可复制后用“选择性粘贴—数值”）。")


@dataclass
class Reader:
    """Turns cells into values, noting a Problem for each cell that cannot be read.

    A helper returns None when the cell has a problem (already noted): callers skip it.
    """

    problems: list[Problem] = field(default_factory=list)

    def add(self, row: Row, key: str, message: str) -> None:
        self.problems.append(Problem(row.sheet, row.number, row.letter(key), message))

    def text(self, row: Row, key: str) -> str | None:
        """Text, trimmed; "" when empty. A whole number typed as a number is taken if exact."""
        cell = row.cells.get(key, _NO_CELL)
        value = cell.value
        if cell.formula is not None:
            return None
        if value is None:
            return ""
        if isinstance(value, str):
            return value.strip()
        if isinstance(value, bool | datetime | date | time | timedelta):
            self.add(row, key, "此处应填文字，不能是日期或是/否值。")
            return None
        if isinstance(value, int) and len(str(abs(value))) <= 15:
            return str(value)  # an exact whole number: Excel keeps 15 significant digits
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        self.add(row, key, NUMBER_LOST)
        return None

    def whole_number(self, row: Row, key: str, parse: Callable[[str], int | None], message: str) -> int | None:
        """A whole number typed as a number (7, 2026.0) or as words ("七年级", "2026年")."""
        cell = row.cells.get(key, _NO_CELL)
        value = cell.value
        if cell.formula is not None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and (number := parse(value.strip().replace(" ", ""))) is not None:
            return number
        self.add(row, key, message)
        return None


def header_name(value: Any) -> str:
    """"名称 *", "年级（1-9）" and "名称" are the same column: order and decorations do not matter."""
    text = "" if value is None else str(value)
    text = re.sub(r"[（(].*?[）)]", "", text)
    return re.sub(r"[\s*＊]", "", text)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _header_keys(columns: Sequence[Column]) -> dict[str, str]:
    """Every name of every column, as `header_name` gives it -> the column's key (the first wins)."""
    keys: dict[str, str] = {}
    for column in columns:
        for name in (column.header, *column.also):
            keys.setdefault(header_name(name), column.key)
    return keys


def _header_positions(header: Sequence[Any], keys: Mapping[str, str]) -> dict[str, int]:
    """Column key -> its 0-based index: the first header cell that names it, wherever it stands."""
    positions: dict[str, int] = {}
    for index, value in enumerate(header):
        if value is not None and (key := keys.get(header_name(value))) is not None:
            positions.setdefault(key, index)
    return positions


def _find_header(sheet: RawSheet, entry: Sheet) -> tuple[int, dict[str, int]]:
    """The header's row number and where each spec column stands in it (key -> 0-based index).

    Among the first `header_within` rows: the row naming every required column, and of those
    the one naming the most columns; the earliest on a tie. When no row names every required
    column, the one naming the most (row 1 if none names any): its missing headers are reported.
    """
    keys = _header_keys(entry.columns)
    required = {column.key for column in entry.columns if column.required}
    candidates = [(number, _header_positions(values, keys))
                  for number, values in enumerate(sheet.rows[:max(entry.header_within, 1)], start=1)]
    # max() keeps the first of equals: the earliest row wins a tie.
    return max(candidates, key=lambda c: (required <= c[1].keys(), len(c[1])), default=(1, {}))


def _past_limits(sheet: RawSheet, header: int, reader: Reader, limits: Limits) -> bool:
    """Note a problem for content past the row or column limit; True when there is some."""
    too_long = sheet.last_row - header > limits.rows
    too_wide = sheet.last_column > limits.columns
    if too_long:
        reader.problems.append(Problem(sheet.name, sheet.last_row, "", (
            f"超过 {limits.rows} 行：每个工作表最多 {limits.rows} 行数据，本表第 {sheet.last_row} 行仍有内容；"
            "请删除多余的行，或分成几个文件上传。")))
    if too_wide:
        reader.problems.append(Problem(sheet.name, 1, "", (
            f"超过 {limits.columns} 列：每个工作表最多 {limits.columns} 列，本表第 "
            f"{get_column_letter(sheet.last_column)} 列仍有内容；请删除多余的列后重新上传。")))
    return too_long or too_wide


def _data_rows(sheet: RawSheet, header: int, positions: Mapping[str, int], reader: Reader) -> list[Row]:
    """The non-empty rows below the header, cells keyed by the spec; formulas are noted as problems."""
    places = {key: (index, get_column_letter(index + 1)) for key, index in positions.items()}
    found: list[Row] = []
    for number, values in enumerate(sheet.rows[header:], start=header + 1):
        formulas = _row_formulas(sheet, number, places) if sheet.formulas else None
        if not formulas and all(_blank(v) for v in values):
            continue
        row = Row(sheet.name, number, RowCells(values, places, formulas))
        for key, formula in (formulas or {}).items():
            reader.add(row, key, _formula_problem(formula))
        found.append(row)
    return found


def _row_formulas(sheet: RawSheet, number: int, places: Mapping[str, tuple[int, str]]) -> dict[str, str]:
    """Column key -> formula, for the row's spec cells that hold one."""
    return {key: sheet.formulas[(number, index + 1)] for key, (index, _letter) in places.items()
            if (number, index + 1) in sheet.formulas}


def _missing_header(column: Column, entry: Sheet, header: int, positions: Mapping[str, int]) -> str:
    if positions or entry.header_within <= 1:
        return f"缺少“{column.header}”列：第 {header} 行应有此表头。"
    return f"缺少“{column.header}”列：前 {entry.header_within} 行中都没有此表头。"


def _read_sheet(sheet: RawSheet, entry: Sheet, reader: Reader, limits: Limits) -> tuple[int, list[Row]]:
    """The header's row number and the data rows below it; problems go to `reader`."""
    header, positions = _find_header(sheet, entry)
    if _past_limits(sheet, header, reader, limits):
        return header, []
    found = _data_rows(sheet, header, positions, reader)
    missing = [column for column in entry.columns if column.required and column.key not in positions]
    if found and missing:
        for column in missing:
            reader.problems.append(Problem(sheet.name, header, "", _missing_header(column, entry, header, positions)))
        return header, []
    return header, found


def read_rows(sheet: RawSheet, columns: Sequence[Column] | Sheet, reader: Reader,
              limits: Limits = LIMITS) -> list[Row]:
    """The sheet's non-empty data rows, cells keyed by the spec; problems go to `reader`."""
    return _read_sheet(sheet, _entry(columns), reader, limits)[1]


@dataclass
class Upload:
    """An uploaded workbook read against a spec: its rows by spec key, and every problem so far."""

    book: Book
    spec: Spec
    rows: dict[str, list[Row]]  # every key of the spec; [] when its sheet is absent or empty
    reader: Reader
    header_rows: dict[str, int] = field(default_factory=dict)  # spec key -> its header's row, when present

    @property
    def present(self) -> list[str]:
        """The spec's keys whose sheet the workbook has, in the spec's order."""
        return [key for key in self.spec if self.book.sheet(key) is not None]

    def rejected(self, problems: list[Problem] | None = None) -> ImportRejected:
        return ImportRejected(self.reader.problems if problems is None else problems, self)

    def error_workbook(self, problems: Sequence[Problem]) -> bytes:
        return error_workbook(self.book, self.spec, problems)


def read_upload(data: bytes, spec: Spec, limits: Limits = LIMITS) -> Upload:
    """Read the spec's sheets of an upload: FileRefused if the file itself is refused."""
    entries = {key: _entry(value) for key, value in spec.items()}
    book = read_book(data, spec, limits, header_within=max((e.header_within for e in entries.values()), default=1))
    reader = Reader()
    rows: dict[str, list[Row]] = {}
    headers: dict[str, int] = {}
    for key, entry in entries.items():
        sheet = book.sheet(key)
        rows[key] = []
        if sheet is not None:
            headers[key], rows[key] = _read_sheet(sheet, entry, reader, limits)
    return Upload(book, spec, rows, reader, headers)


# --- 4. writing: the template and the error workbook -----------------------------------------

TEMPLATE_ROWS = 1000  # how far down a template's drop-downs and text formats reach
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDE7F3")
_REQUIRED_FONT = Font(bold=True, color="B42318")
_PROBLEM_FILL = PatternFill("solid", fgColor="FDE2E1")
_PROBLEM_FONT = Font(bold=True, color="B42318")
_AUTHOR = "保学"
_COMMENT_WIDTH, _COMMENT_HEIGHT = 240, 90  # points: room for a reason or two


def write_template(spec: Spec, help_lines: Sequence[tuple[str, bool]], *, rows: int = TEMPLATE_ROWS) -> bytes:
    """The empty workbook to download: a 说明 sheet of (line, bold), then one sheet per spec entry,
    headers in row 1. A FIRST_SHEET entry has no name to give its sheet: write a named spec
    (an upload read with FIRST_SHEET skips the 说明 sheet)."""
    if FIRST_SHEET in spec:
        raise ValueError("a template names its sheets: give write_template a spec without FIRST_SHEET")
    workbook = Workbook()
    _write_help(workbook.active, help_lines)
    for title, value in spec.items():
        ws = workbook.create_sheet(title)
        ws.freeze_panes = "A2"
        for index, column in enumerate(_entry(value).columns, start=1):
            _style_header(ws.cell(row=1, column=index, value=column.header), column)
            _format_column(ws, column, index, rows, with_refs=True)
    return _bytes(workbook)


def _write_help(ws: Any, lines: Sequence[tuple[str, bool]]) -> None:
    ws.title = HELP_SHEET
    ws.column_dimensions["A"].width = 110
    for number, (line, bold) in enumerate(lines, start=1):
        cell = ws.cell(row=number, column=1, value=line)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if bold:
            cell.font = Font(bold=True, size=13 if number == 1 else 11)


def _style_header(cell: Any, column: Column) -> Any:
    """A header cell's look (red when required) and its note."""
    cell.font = _REQUIRED_FONT if column.required else _HEADER_FONT
    cell.fill = _HEADER_FILL
    if column.note:
        cell.comment = Comment(("必填。" if column.required else "") + column.note, _AUTHOR)
    return cell


def _format_column(ws: Any, column: Column, index: int, rows: int, *, with_refs: bool, header: int = 1) -> None:
    """The column's width and text format, and its drop-down for the rows below the header
    (to row `rows`). Works on a write-only sheet too, before its rows are written."""
    letter = get_column_letter(index)
    ws.column_dimensions[letter].width = column.width
    if column.text:
        ws.column_dimensions[letter].number_format = "@"
    if column.choices:
        validation = DataValidation(type="list", formula1='"' + ",".join(column.choices) + '"', allow_blank=True,
                                    showErrorMessage=column.strict, errorTitle="输入有误", error="请从下拉列表中选择。")
    elif column.ref and with_refs:
        # Existing names (not in this file) are allowed too: suggest, never block.
        validation = DataValidation(type="list", formula1=f"'{column.ref}'!$A$2:$A${rows}",
                                    allow_blank=True, showErrorMessage=False)
    else:
        return
    validation.add(f"{letter}{header + 1}:{letter}{rows}")
    ws.data_validations.append(validation)


def _as_uploaded(ws: Any, value: Any, formula: str | None = None) -> Any:
    """A value for a write-only row, as uploaded: text (and a formula, shown as its text) is
    never run as a formula. Plain values stay plain: most cells cost no Cell object."""
    if formula is not None:
        value = "=" + formula
    if not isinstance(value, str):
        return value
    value = printable(value)
    if not value.startswith(FORMULA_STARTS):
        return value
    cell = WriteOnlyCell(ws, value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def _styled(ws: Any, value: Any) -> Any:
    """A write-only cell that can take a style or a comment."""
    return value if isinstance(value, SheetCell) else WriteOnlyCell(ws, value)


def error_workbook(book: Book, spec: Spec, problems: Sequence[Problem]) -> bytes:
    """A 问题 sheet listing every problem, then each uploaded sheet as it was (title rows too),
    with a 问题 column on its header row and each problem cell filled red, its reason as a
    comment. Row numbers match the upload's, so the list and the sheets agree; the extra
    column and sheet are ignored when the file is uploaded again. Written as it goes
    (openpyxl's write-only mode): ten thousand rows take a second or two, not ten."""
    workbook = Workbook(write_only=True)
    _write_summary(workbook.create_sheet(PROBLEM_SHEET), problems)
    by_row: dict[tuple[str, int], list[Problem]] = {}
    for p in problems:
        by_row.setdefault((p.sheet, p.row), []).append(p)
    written: set[str] = set()
    for key, value in spec.items():
        sheet = book.sheet(key)
        if sheet is not None and sheet.name not in written:
            written.add(sheet.name)
            _write_uploaded(workbook.create_sheet(sheet.name), sheet, _entry(value), by_row)
    return _bytes(workbook)


def _write_summary(ws: Any, problems: Sequence[Problem]) -> None:
    headers = (("工作表", 12), ("行", 8), ("列", 8), ("问题", 90))
    for index, (_header, width) in enumerate(headers, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.append([_bold(ws, header) for header, _width in headers])
    for p in problems:
        ws.append([_as_uploaded(ws, value) for value in (p.sheet, p.row, p.column or "整行", p.message)])


def _bold(ws: Any, text: str) -> Any:
    cell = WriteOnlyCell(ws, text)
    cell.font = _HEADER_FONT
    return cell


def _write_uploaded(ws: Any, sheet: RawSheet, entry: Sheet, by_row: dict[tuple[str, int], list[Problem]]) -> None:
    """The sheet as uploaded, its header row styled and given a 问题 column, its problem rows marked."""
    header, positions = _find_header(sheet, entry)
    width = max([0, *(len(r) for r in sheet.rows), *(c for _r, c in sheet.formulas)])
    by_key = {column.key: column for column in entry.columns}
    header_columns = {index: by_key[key] for key, index in positions.items()}
    ws.freeze_panes = f"A{header + 1}"
    for index, column in header_columns.items():
        _format_column(ws, column, index + 1, len(sheet.rows) + TEMPLATE_ROWS, with_refs=False, header=header)
    ws.column_dimensions[get_column_letter(width + 1)].width = 60
    formulas: dict[int, dict[int, str]] = {}
    for (row, col), formula in sheet.formulas.items():
        formulas.setdefault(row, {})[col - 1] = formula
    for number, values in enumerate(sheet.rows, start=1):
        cells = [_as_uploaded(ws, value) for value in values] + [None] * (width - len(values))
        for index, formula in formulas.get(number, {}).items():
            cells[index] = _as_uploaded(ws, None, formula)
        if number == header:
            for index, column in header_columns.items():
                cells[index] = _style_header(_styled(ws, cells[index]), column)
            cells.append(_reasons_header(ws))
        elif number > header and (found := by_row.get((sheet.name, number))):
            cells.append(_mark(ws, cells, found))
        ws.append(cells)
    # A header's or a limit's problem is in the 问题 sheet only.


def _reasons_header(ws: Any) -> Any:
    cell = WriteOnlyCell(ws, PROBLEM_SHEET)
    cell.font, cell.fill = _PROBLEM_FONT, _HEADER_FILL
    return cell


def _mark(ws: Any, cells: list[Any], problems: Sequence[Problem]) -> Any:
    """Fill each problem cell of a row and give it its reasons as a comment; the row's reasons
    (all of them, a whole-row one too) make the cell for its 问题 column."""
    by_cell: dict[int, list[str]] = {}
    for p in problems:
        if p.column:
            by_cell.setdefault(column_index_from_string(p.column) - 1, []).append(p.message)
    for index, messages in by_cell.items():
        if index < len(cells):
            cell = cells[index] = _styled(ws, cells[index])
            cell.fill = _PROBLEM_FILL
            cell.comment = Comment("；".join(messages), _AUTHOR, height=_COMMENT_HEIGHT, width=_COMMENT_WIDTH)
    reasons = WriteOnlyCell(ws, printable("；".join(f"{p.column}列：{p.message}" if p.column else p.message
                                                  for p in problems)))
    reasons.font = Font(color="B42318")
    reasons.alignment = Alignment(wrap_text=True, vertical="top")
    return reasons


def _bytes(workbook: Workbook) -> bytes:
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- 5. writing the rows: one import at a time, races as 409 ---------------------------------

def one_at_a_time(session: Session, name: str) -> None:
    """Imports sharing `name` (say, a kind and a township) run one after another.

    On PostgreSQL a transaction-scoped advisory lock: a second upload waits for the first to
    commit, then its checks see the first one's rows and report them as duplicates. SQLite
    writes one transaction at a time anyway; a race there ends in `duplicates_as_conflict`.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sql("select pg_advisory_xact_lock(hashtextextended(:name, 0))"),
                        {"name": f"baoxue:import:{name}"})


@contextmanager
def duplicates_as_conflict() -> Iterator[None]:
    """A unique constraint the checks could not foresee (a concurrent write) is a 409 in Chinese.

    The transaction is then unusable: the request's middleware rolls it back (a 409 is not a
    success), and so must any other caller.
    """
    try:
        yield
    except IntegrityError:
        log.info("import lost a race on a unique constraint")
        raise Conflict(detail=CONCURRENT) from None


__all__ = [
    "CONCURRENT", "FIRST_SHEET", "LIMITS", "NOT_EXCEL", "NOT_XLSX", "NUMBER_LOST", "TEMPLATE_ROWS", "XLS_SIGNATURE",
    "Book", "Cell", "Column", "FileRefused", "ImportRejected", "Limits", "Problem", "RawSheet", "Reader", "Row",
    "RowCells", "Sheet", "Spec", "Upload", "duplicates_as_conflict", "error_workbook", "header_name", "one_at_a_time",
    "preflight", "read_book", "read_rows", "read_upload", "write_template",
]
