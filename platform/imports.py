"""Excel imports: reading an uploaded .xlsx safely, checking it against a sheet spec, answering.

Every import (the structure today; rosters, the census and task lists next) goes through here:

1. `preflight` looks at the zip's directory only (no XML is parsed, nothing is inflated): not
   a zip, too many parts, a part or the whole too large once inflated, an absurd compression
   ratio — refused at once with a Chinese message (`FileRefused`, which names its `reason`).
2. The parse runs in a child process (`xlsx_sandbox.py`, python-calamine) capped in memory
   and CPU and killed after its wall time, so no upload can starve the web server; it returns
   plain rows. A sheet's claimed dimension is ignored; content past the row or column limit
   is a problem ("超过 N 行"), never a silent truncation; trailing empty rows do not count.
3. `read_upload` finds each spec column by its header text wherever it stands, and `Reader`
   turns cells into values, noting every problem as (sheet, row, column letter, reason), so
   the caller can check everything first and import all or nothing. A formula is never read
   as a value: the clerk is told to type the value.
4. `ImportRejected.error_workbook()` gives the uploaded rows back as an .xlsx with a 问题
   column and the problem cells marked, for the clerk to fix and upload again;
   `write_template` writes the empty workbook to fill in (drop-downs, notes, text columns).

A caller that writes rows should `one_at_a_time` (PostgreSQL: a second import of the same kind
in the township waits, then sees the first one's rows as duplicates) and wrap its writes in
`duplicates_as_conflict` (a race the checks could not see is a 409, never a 500).
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
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any, NamedTuple

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
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
NUMBER_LOST = "此处应填文字，但单元格是数字（长数字会丢失位数）：请把该列设为“文本”格式后重新输入。"
SAVE_AS_NEW = "请在 Excel 或 WPS 中把它“另存为”一个新的 .xlsx 文件，删除多余的工作表、图片和空白格式后重新上传。"
CONCURRENT = ("刚才有另一项导入或操作同时写入了相同的数据，本次导入没有保存任何数据。"
              "请稍后重新上传：系统会指出哪些行已经存在。")


@dataclass(frozen=True)
class Limits:
    """What one upload may cost. The defaults suit a township's files with room to spare."""

    upload_bytes: int = 5 * MB  # the file as uploaded
    parts: int = 200  # zip entries: a real workbook has a dozen, plus a few per sheet
    part_bytes: int = 25 * MB  # any one entry, inflated
    shared_strings_bytes: int = 10 * MB  # sharedStrings.xml is held in memory whole
    unzipped_bytes: int = 50 * MB  # all entries, inflated
    ratio: int = 100  # inflated / compressed, for entries over ratio_floor_bytes
    ratio_floor_bytes: int = 1 * MB
    rows: int = 5000  # data rows per sheet, the header row not counted
    columns: int = 100  # per sheet
    memory_bytes: int = 512 * MB  # the reading process's address space
    seconds: float = 20  # the reading process's wall time

    @property
    def upload_mb(self) -> int:
        return self.upload_bytes // MB


LIMITS = Limits()


class FileRefused(InvalidInput):
    """The file as a whole cannot be read; `reason` says which check refused it (for tests and logs)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__({"file": message})
        self.reason = reason


# --- 1. the zip, before anything is parsed ----------------------------------------------------

def _mb(size: int) -> str:
    return f"{size / MB:.1f}".removesuffix(".0")


def preflight(data: bytes, limits: Limits = LIMITS) -> None:
    """Refuse what is not a plausible .xlsx from its zip directory alone: cheap by construction."""
    if not data:
        raise FileRefused("empty", "请选择要上传的文件。")
    if len(data) > limits.upload_bytes:
        raise FileRefused("upload_size", f"文件太大：不能超过 {limits.upload_mb} MB。")
    try:
        with zipfile.ZipFile(BytesIO(data)) as book:
            entries = book.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise FileRefused("not_zip", NOT_XLSX) from None
    if len(entries) > limits.parts:
        raise FileRefused("parts", f"文件结构异常：内含 {len(entries)} 个部件，超过上限 {limits.parts} 个。{SAVE_AS_NEW}")
    names = [entry.filename for entry in entries]
    if "[Content_Types].xml" not in names or len(set(names)) != len(names):
        raise FileRefused("not_xlsx", NOT_XLSX)
    total = 0
    for entry in entries:
        _check_entry(entry, limits)
        total += entry.file_size
    if total > limits.unzipped_bytes:
        raise FileRefused("unzipped_size", f"文件解压后约 {_mb(total)} MB，超过上限 {_mb(limits.unzipped_bytes)} MB。"
                                           f"{SAVE_AS_NEW}")


def _check_entry(entry: zipfile.ZipInfo, limits: Limits) -> None:
    if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or entry.flag_bits & 0x1:
        raise FileRefused("not_xlsx", NOT_XLSX)  # Excel writes neither other methods nor zip encryption
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


@dataclass(frozen=True)
class Book:
    names: list[str]  # every sheet of the workbook, in order
    sheets: dict[str, RawSheet]  # the sheets asked for that the workbook has


_SANDBOX = Path(xlsx_sandbox.__file__).resolve()
_CHILD_ENV_DROP = ("RUST_BACKTRACE", "RUST_LIB_BACKTRACE")


def read_book(data: bytes, sheets: Iterable[str], limits: Limits = LIMITS) -> Book:
    """Preflight, then the child's parse of the named sheets. Raises FileRefused, never hangs."""
    preflight(data, limits)
    options = json.dumps({
        "sheets": list(sheets), "max_rows": limits.rows + 1, "max_columns": limits.columns,
        "max_total_bytes": limits.unzipped_bytes, "memory_bytes": limits.memory_bytes,
        "cpu_seconds": int(limits.seconds) + 1,
    })
    env = {k: v for k, v in os.environ.items() if k not in _CHILD_ENV_DROP}
    try:
        # -I: no PYTHON* variables, no user site, and the script's folder (platform/, which
        # shadows the standard library's `platform`) is not put on sys.path.
        done = subprocess.run([sys.executable, "-I", str(_SANDBOX), options], input=data, capture_output=True,
                              timeout=limits.seconds, check=False, env=env)
    except subprocess.TimeoutExpired:
        raise _timed_out(limits) from None
    return _answer(done, limits)


def _timed_out(limits: Limits) -> FileRefused:
    log.warning("xlsx read stopped after %s s", limits.seconds)
    return FileRefused("timeout", f"读取文件超时：{limits.seconds:g} 秒内没有读完，已停止。{SAVE_AS_NEW}")


def _answer(done: subprocess.CompletedProcess[bytes], limits: Limits) -> Book:
    code = done.returncode
    if code in (xlsx_sandbox.EXIT_OUT_OF_MEMORY, -signal.SIGABRT):
        log.warning("xlsx read ran out of memory (limit %s)", limits.memory_bytes)
        raise FileRefused("memory", f"读取文件所需内存超过上限（{_mb(limits.memory_bytes)} MB），已停止。{SAVE_AS_NEW}")
    if code in (-signal.SIGXCPU, -signal.SIGKILL):
        raise _timed_out(limits)
    try:
        result = json.loads(done.stdout) if code == 0 else None
    except ValueError:
        result = None
    if result is None:
        log.info("xlsx not readable (exit %s): %s", code, done.stderr.decode("utf-8", "replace")[-300:])
        raise FileRefused("not_xlsx", NOT_XLSX)
    return Book(names=result["names"], sheets={
        name: RawSheet(name=name, rows=[[_typed(v) for v in row] for row in sheet["rows"]],
                       formulas={(r, c): f for r, c, f in sheet["formulas"]},
                       last_row=sheet["last_row"], last_column=sheet["last_column"])
        for name, sheet in result["sheets"].items()
    })


_TAGGED: dict[str, Callable[[Any], Any]] = {
    "datetime": datetime.fromisoformat, "date": date.fromisoformat, "time": time.fromisoformat,
    "seconds": lambda s: timedelta(seconds=s),
}


def _typed(value: Any) -> Any:
    """Undo the child's JSON tags for dates and times."""
    if not isinstance(value, dict):
        return value
    (kind, raw), = value.items()
    return _TAGGED[kind](raw)


# --- 3. the spec, rows and typed values -------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """One column of a sheet spec: found by `header` in row 1, read as `key`."""

    header: str
    key: str
    width: int = 14
    required: bool = False
    text: bool = True  # kept as text ("@"), so phone numbers and codes keep every digit
    choices: tuple[str, ...] = ()  # a drop-down list of values
    strict: bool = True  # the drop-down refuses other values; False: it only suggests
    ref: str = ""  # a drop-down from another sheet's first column; other values still allowed
    note: str = ""  # the header's comment in the template


Spec = Mapping[str, Sequence[Column]]  # sheet name -> its columns


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


@dataclass
class Row:
    sheet: str
    number: int
    cells: dict[str, Cell]  # column key -> the cell, for the spec's columns found in the header

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


def _header_positions(header: Sequence[Any], columns: Sequence[Column]) -> dict[str, int]:
    """Column key -> its 0-based index: the first header cell that names it, wherever it stands."""
    positions: dict[str, int] = {}
    for index, value in enumerate(header):
        name = header_name(value)
        for column in columns:
            if name == column.header and column.key not in positions:
                positions[column.key] = index
    return positions


def read_rows(sheet: RawSheet, columns: Sequence[Column], reader: Reader, limits: Limits = LIMITS) -> list[Row]:
    """The sheet's non-empty data rows, cells keyed by the spec; problems go to `reader`."""
    if sheet.last_row > limits.rows + 1:
        reader.problems.append(Problem(sheet.name, sheet.last_row, "", (
            f"超过 {limits.rows} 行：每个工作表最多 {limits.rows} 行数据，本表第 {sheet.last_row} 行仍有内容；"
            "请删除多余的行，或分成几个文件上传。")))
    if sheet.last_column > limits.columns:
        reader.problems.append(Problem(sheet.name, 1, "", (
            f"超过 {limits.columns} 列：每个工作表最多 {limits.columns} 列，本表第 "
            f"{get_column_letter(sheet.last_column)} 列仍有内容；请删除多余的列后重新上传。")))
    if sheet.last_row > limits.rows + 1 or sheet.last_column > limits.columns:
        return []
    positions = _header_positions(sheet.rows[0] if sheet.rows else [], columns)
    found: list[Row] = []
    for number, values in enumerate(sheet.rows[1:], start=2):
        cells: dict[str, Cell] = {}
        for key, index in positions.items():
            formula = sheet.formulas.get((number, index + 1))
            value = values[index] if index < len(values) and formula is None else None
            cells[key] = Cell(value, get_column_letter(index + 1), formula)
        if all(_blank(v) for v in values) and all(c.formula is None for c in cells.values()):
            continue
        row = Row(sheet.name, number, cells)
        for key, cell in cells.items():
            if cell.formula is not None:
                reader.add(row, key, _formula_problem(cell.formula))
        found.append(row)
    missing = [c for c in columns if c.required and c.key not in positions]
    if found and missing:
        for column in missing:
            reader.problems.append(Problem(sheet.name, 1, "", f"缺少“{column.header}”列：第 1 行应有此表头。"))
        return []
    return found


@dataclass
class Upload:
    """An uploaded workbook read against a spec: its rows by sheet, and every problem so far."""

    book: Book
    spec: Spec
    rows: dict[str, list[Row]]  # every sheet of the spec; [] when absent or empty
    reader: Reader

    @property
    def present(self) -> list[str]:
        """The spec's sheets the workbook has, in the spec's order."""
        return [name for name in self.spec if name in self.book.sheets]

    def rejected(self, problems: list[Problem] | None = None) -> ImportRejected:
        return ImportRejected(self.reader.problems if problems is None else problems, self)

    def error_workbook(self, problems: Sequence[Problem]) -> bytes:
        return error_workbook(self.book, self.spec, problems)


def read_upload(data: bytes, spec: Spec, limits: Limits = LIMITS) -> Upload:
    """Read the spec's sheets of an upload: FileRefused if the file itself is refused."""
    book = read_book(data, spec, limits)
    reader = Reader()
    rows = {name: read_rows(book.sheets[name], columns, reader, limits) if name in book.sheets else []
            for name, columns in spec.items()}
    return Upload(book, spec, rows, reader)


# --- 4. writing: the template and the error workbook -----------------------------------------

TEMPLATE_ROWS = 1000  # how far down a template's drop-downs and text formats reach
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDE7F3")
_REQUIRED_FONT = Font(bold=True, color="B42318")
_PROBLEM_FILL = PatternFill("solid", fgColor="FDE2E1")
_PROBLEM_FONT = Font(bold=True, color="B42318")


def write_template(spec: Spec, help_lines: Sequence[tuple[str, bool]], *, rows: int = TEMPLATE_ROWS) -> bytes:
    """The empty workbook to download: a 说明 sheet of (line, bold), then one sheet per spec entry."""
    workbook = Workbook()
    _write_help(workbook.active, help_lines)
    for title, columns in spec.items():
        ws = workbook.create_sheet(title)
        ws.freeze_panes = "A2"
        for index, column in enumerate(columns, start=1):
            ws.cell(row=1, column=index, value=column.header)
            _format_column(ws, column, index, rows, with_refs=True)
    return _bytes(workbook)


def _write_help(ws: Any, lines: Sequence[tuple[str, bool]]) -> None:
    ws.title = "说明"
    ws.column_dimensions["A"].width = 110
    for number, (line, bold) in enumerate(lines, start=1):
        cell = ws.cell(row=number, column=1, value=line)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if bold:
            cell.font = Font(bold=True, size=13 if number == 1 else 11)


def _format_column(ws: Any, column: Column, index: int, rows: int, *, with_refs: bool) -> None:
    """The header's look and note, the column's width and text format, and its drop-down."""
    letter = get_column_letter(index)
    cell = ws.cell(row=1, column=index)
    cell.font = _REQUIRED_FONT if column.required else _HEADER_FONT
    cell.fill = _HEADER_FILL
    if column.note:
        cell.comment = Comment(("必填。" if column.required else "") + column.note, "保学")
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
    validation.add(f"{letter}2:{letter}{rows}")
    ws.add_data_validation(validation)


def _put(ws: Any, row: int, column: int, value: Any, formula: str | None = None) -> Any:
    """A cell as uploaded; text (and a formula, shown as its text) is never run as a formula."""
    cell = ws.cell(row=row, column=column)
    if formula is not None:
        value = "=" + formula
    if isinstance(value, str):
        cell.value = printable(value)
        cell.data_type = "s"
        if value.startswith(FORMULA_STARTS):
            cell.quotePrefix = True
    elif value is not None:
        cell.value = value
    return cell


def error_workbook(book: Book, spec: Spec, problems: Sequence[Problem]) -> bytes:
    """A 问题 sheet listing every problem, then each uploaded sheet as it was, with a 问题
    column and the problem cells marked. Row numbers match the upload's, so the list and the
    sheets agree; the extra column and sheet are ignored when the file is uploaded again."""
    workbook = Workbook()
    summary = workbook.active
    summary.title = "问题"
    for index, (header, width) in enumerate((("工作表", 12), ("行", 8), ("列", 8), ("问题", 90)), start=1):
        _put(summary, 1, index, header).font = _HEADER_FONT
        summary.column_dimensions[get_column_letter(index)].width = width
    for number, p in enumerate(problems, start=2):
        for index, value in enumerate((p.sheet, p.row, p.column or "整行", p.message), start=1):
            _put(summary, number, index, value)
    by_row: dict[tuple[str, int], list[Problem]] = {}
    for p in problems:
        by_row.setdefault((p.sheet, p.row), []).append(p)
    for name, columns in spec.items():
        sheet = book.sheets.get(name)
        if sheet is not None:
            _write_uploaded(workbook.create_sheet(name), sheet, columns, by_row)
    return _bytes(workbook)


def _write_uploaded(ws: Any, sheet: RawSheet, columns: Sequence[Column],
                    by_row: dict[tuple[str, int], list[Problem]]) -> None:
    ws.freeze_panes = "A2"
    width = max((len(r) for r in sheet.rows), default=0)
    width = max([width, *(c for _r, c in sheet.formulas)])
    by_key = {column.key: column for column in columns}
    for key, index in _header_positions(sheet.rows[0] if sheet.rows else [], columns).items():
        _format_column(ws, by_key[key], index + 1, len(sheet.rows) + TEMPLATE_ROWS, with_refs=False)
    for number, values in enumerate(sheet.rows, start=1):
        for index, value in enumerate(values, start=1):
            _put(ws, number, index, value)
    for (row, col), formula in sheet.formulas.items():
        _put(ws, row, col, None, formula)
    note = _put(ws, 1, width + 1, "问题")
    note.font, note.fill = _PROBLEM_FONT, _HEADER_FILL
    ws.column_dimensions[get_column_letter(width + 1)].width = 60
    for (name, row), found in by_row.items():
        if name != sheet.name or not 1 < row <= len(sheet.rows):
            continue  # a header's or a limit's problem is in the 问题 sheet only
        messages = []
        for p in found:
            messages.append(f"{p.column}列：{p.message}" if p.column else p.message)
            if p.column:
                ws[f"{p.column}{row}"].fill = _PROBLEM_FILL
        cell = _put(ws, row, width + 1, "；".join(messages))
        cell.font = Font(color="B42318")
        cell.alignment = Alignment(wrap_text=True, vertical="top")


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
    "CONCURRENT", "LIMITS", "NOT_XLSX", "NUMBER_LOST", "TEMPLATE_ROWS", "Book", "Cell", "Column", "FileRefused",
    "ImportRejected", "Limits", "Problem", "RawSheet", "Reader", "Row", "Spec", "Upload", "duplicates_as_conflict",
    "error_workbook", "header_name", "one_at_a_time", "preflight", "read_book", "read_rows", "read_upload",
    "write_template",
]
