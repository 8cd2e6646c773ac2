"""The child process that reads an uploaded workbook: standard library and python-calamine only.

`baoxue.platform.imports` runs this file as a script (`python -I xlsx_sandbox.py '<json>'`),
the workbook's bytes on stdin, and reads JSON from stdout. It never imports the application:
it starts in a few tens of milliseconds, and a file crafted to exhaust memory or time takes
only this process down. Before anything is parsed the process caps itself: address space
(RLIMIT_AS), CPU seconds, no files written. The parent also kills it after its wall time.

Exit codes: 0 done (JSON on stdout), 2 not a readable workbook, 3 out of memory (a MemoryError,
or calamine's panic on a Python object it could not make). A Rust allocation failure inside
calamine aborts the process (SIGABRT); the parent reads that as "out of memory" too. (With
RUST_BACKTRACE set, a panic's backtrace can deadlock on the exhausted allocator: the parent
drops that variable, and its wall time ends such a process anyway.)

.xlsx: calamine allocates the whole rectangle between a sheet's first and last cell, so a
sheet whose content reaches past the row or column limit is not handed to calamine at all
(the parent reports it); a sheet's claimed `<dimension>` is never read. Before calamine, per
wanted sheet, either
- the survey: a few regular-expression searches over the sheet's XML, no Python per cell.
  It serves the layout every common writer uses (cells in the default namespace, each with
  its reference first: `<c r="B7" ...>`): is any cell holding something past the limits,
  and where are the formulas. The last row and column are then taken from calamine's values.
- or, for any other layout, the scan: one streaming pass over the XML (memory bounded by one
  row) that finds the last row and column holding anything, and every formula.
.xls (BIFF8): calamine reads the sheet whole (the memory cap bounds that); the last row and
column come from its values. It gives formulas' last results, so no formula is reported.

Values go out as JSON: empty cells as null, whole numbers as ints; only dates and times are
tagged ({"$date": "2024-09-01"}), so the parent decodes them without Python per cell.
"""

from __future__ import annotations

import json
import posixpath
import re
import resource
import sys
import zipfile
from datetime import date, datetime, time, timedelta
from io import BytesIO
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import unescape

EXIT_NOT_A_WORKBOOK = 2
EXIT_OUT_OF_MEMORY = 3
FIRST_SHEET = "*"  # asks for the first visible worksheet; Excel forbids "*" in a sheet's name
_CHUNK = 1 << 20
_OFFICE_DOCUMENT = "/officeDocument"
_XML_ENTITIES = {"&quot;": '"', "&apos;": "'"}

# The survey's searches, over the sheet's XML as bytes.
_PREFIXED_CELL = re.compile(rb":c[\s/>]")  # a cell in a prefixed namespace (<x:c ...>)
_CELL_WITHOUT_REFERENCE_FIRST = re.compile(rb'<c(?! r="[A-Z])[\s/>]')
_FORMULA_CELL = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"[^>]*>\s*<f\b[^>]*?(?:/>|>([^<]*)</f>)')


def _limit_self(memory_bytes: int, cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _local(tag: str) -> str:
    """The name without its namespace: transitional and strict OOXML use different ones."""
    return tag.rpartition("}")[2]


def _verify_sizes(book: zipfile.ZipFile, max_total_bytes: int) -> None:
    """Inflate every part once, discarding it: zipfile stops at the declared size and checks
    the CRC, so a part that claims to be small but is not fails here, cheaply."""
    total = 0
    for info in book.infolist():
        with book.open(info) as part:
            while chunk := part.read(_CHUNK):
                total += len(chunk)
                if total > max_total_bytes:
                    raise zipfile.BadZipFile("larger than declared")


def _sheet_parts(book: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> the zip path of its XML, through the package's relationships."""
    root_rels = ElementTree.fromstring(book.read("_rels/.rels"))
    workbook_path = next(r.get("Target", "") for r in root_rels
                         if (r.get("Type") or "").endswith(_OFFICE_DOCUMENT)).lstrip("/")
    folder, name = posixpath.split(workbook_path)
    rels = ElementTree.fromstring(book.read(posixpath.join(folder, "_rels", name + ".rels")))
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    parts: dict[str, str] = {}
    for element in ElementTree.fromstring(book.read(workbook_path)).iter():
        if _local(element.tag) != "sheet":
            continue
        rel_id = next((v for k, v in element.attrib.items() if _local(k) == "id"), None)
        target = targets.get(rel_id, "")
        if target:
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
            parts[element.get("name", "")] = path
    return parts


def _column_number(letters: str) -> int:
    """"AB" -> 28."""
    number = 0
    for letter in letters:
        number = number * 26 + (ord(letter.upper()) - 64)
    return number


def _column_letters(number: int) -> str:
    """28 -> "AB"."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _cell_position(ref: str) -> tuple[int, int]:
    """"AB12" -> (12, 28), both 1-based."""
    index = 0
    while index < len(ref) and ref[index].isalpha():
        index += 1
    return int(ref[index:]), _column_number(ref[:index])


# --- .xlsx: the survey ------------------------------------------------------------------------

def _after(limit: str, low: str, high: str) -> str:
    """A pattern for the strings of low..high characters that come after `limit` in (length,
    text) order: the column letters past the last allowed column, the row digits past the last
    allowed row. Longer strings with leading zeros match too: never a miss, only a slower path."""
    choices = [f"[{low}-{high}]{{{len(limit) + 1},}}"]
    for index, char in enumerate(limit):
        if char < high:
            choices.append(f"{limit[:index]}[{chr(ord(char) + 1)}-{high}][{low}-{high}]{{{len(limit) - index - 1}}}")
    return "(?:" + "|".join(choices) + ")"


def _content_past(max_rows: int, max_columns: int) -> re.Pattern[bytes]:
    """A cell that holds something (not `<c .../>`) past the last allowed row or column."""
    column, row = _after(_column_letters(max_columns), "A", "Z"), _after(str(max_rows), "0", "9")
    return re.compile(f'<c r="(?:{column}[0-9]+|[A-Z]+{row})"[^>]*(?<!/)>'.encode())


def _survey(xml: bytes, max_rows: int, max_columns: int) -> list[tuple[int, int, str]] | None:
    """The formulas of a sheet in the common layout whose content stays within the limits;
    None when the layout is another or content reaches past the limits (the scan decides)."""
    if _PREFIXED_CELL.search(xml) or _CELL_WITHOUT_REFERENCE_FIRST.search(xml):
        return None
    if _content_past(max_rows, max_columns).search(xml):
        return None
    if b"<f" not in xml:
        return []
    return [(int(row), _column_number(letters.decode()), unescape(text.decode("utf-8", "replace"), _XML_ENTITIES)[:200])
            for letters, row, text in _FORMULA_CELL.findall(xml)]


# --- .xlsx: the scan --------------------------------------------------------------------------

def _scan(stream: Any, max_rows: int, max_columns: int) -> dict[str, Any]:
    """The last row and column holding anything, and the formulas within the limits."""
    last_row = last_column = 0
    formulas: list[tuple[int, int, str]] = []
    row_number = column = 0
    parents: list[Any] = []  # the open elements
    in_cell = False
    for event, element in ElementTree.iterparse(stream, events=("start", "end")):
        tag = _local(element.tag)
        if event == "start":
            if tag == "row":
                ref = element.get("r")
                row_number = int(ref) if ref else row_number + 1
                column = 0
            in_cell = in_cell or tag == "c"
            parents.append(element)
            continue
        parents.pop()
        if tag == "c":
            in_cell = False
            ref = element.get("r")
            row_number, column = _cell_position(ref) if ref else (row_number, column + 1)
            formula, filled = _cell_content(element)
            if formula is not None or filled:
                last_row, last_column = max(last_row, row_number), max(last_column, column)
                if formula is not None and row_number <= max_rows and column <= max_columns:
                    formulas.append((row_number, column, formula[:200]))
        if not in_cell and parents:
            # Finished: drop it, so memory stays one cell deep however long the sheet is.
            parents[-1].remove(element)
    return {"last_row": last_row, "last_column": last_column, "formulas": formulas}


def _cell_content(cell: Any) -> tuple[str | None, bool]:
    """(the formula or None, whether the cell shows a value)."""
    formula, filled = None, False
    for child in cell:
        kind = _local(child.tag)
        if kind == "f":
            formula = child.text or ""
        elif kind == "v":
            filled = filled or bool((child.text or "").strip())
        elif kind == "is":
            filled = filled or bool("".join(child.itertext()).strip())
    return formula, filled


# --- values -----------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    """A calamine value as JSON: "" is an empty cell, whole floats are ints, dates are tagged."""
    if value == "" or value is None:
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, time):
        return {"$time": value.isoformat()}
    if isinstance(value, timedelta):
        return {"$seconds": value.total_seconds()}
    return value


def _plain_row(row: list[Any], width: int) -> list[Any]:
    # Text is most cells: it passes without a call.
    return [v if type(v) is str and v else _plain(v) for v in row[:width]]


def _blank(value: Any) -> bool:
    return value is None or (type(value) is str and not value.strip())


def _last_filled(rows: list[list[Any]], formulas: list[tuple[int, int, str]]) -> tuple[int, int]:
    """The last row and column holding a value or a formula (0, 0 for none)."""
    last_row = last_column = 0
    for number, row in enumerate(rows, start=1):
        index = len(row) - 1
        while index >= 0 and _blank(row[index]):  # a full row stops at once
            index -= 1
        if index >= 0:
            last_row, last_column = number, max(last_column, index + 1)
    for row_number, column, _formula in formulas:
        last_row, last_column = max(last_row, row_number), max(last_column, column)
    return last_row, last_column


def _values(sheet: Any, max_rows: int, max_columns: int, formulas: list[tuple[int, int, str]]) -> dict[str, Any]:
    """The sheet's values, cut to the last row and column that hold anything."""
    rows = [_plain_row(row, max_columns) for row in sheet.to_python(skip_empty_area=False, nrows=max_rows)]
    last_row, last_column = _last_filled(rows, formulas)
    del rows[last_row:]
    rows += [[] for _ in range(last_row - len(rows))]  # a formula without a result past calamine's cells
    rows = [row if len(row) == last_column else (row + [None] * last_column)[:last_column] for row in rows]
    return {"rows": rows, "formulas": formulas, "last_row": last_row, "last_column": last_column}


# --- reading ----------------------------------------------------------------------------------

def _first_sheet(workbook: Any, not_first: list[str]) -> str | None:
    """What FIRST_SHEET reads: the first visible worksheet not named in `not_first` (a hidden
    helper sheet, a chart or a page of instructions is not what a clerk means); failing that,
    the first visible one, the first worksheet."""
    from python_calamine import SheetTypeEnum, SheetVisibleEnum

    sheets = [s for s in workbook.sheets_metadata if s.typ == SheetTypeEnum.WorkSheet]
    visible = [s.name for s in sheets if s.visible == SheetVisibleEnum.Visible]
    wanted = [name for name in visible if name not in not_first]
    return (wanted or visible or [s.name for s in sheets] or [None])[0]


def _xlsx_sheet(book: zipfile.ZipFile, part: str, workbook: Any, name: str, max_rows: int,
                max_columns: int) -> dict[str, Any]:
    xml = book.read(part)  # within the preflight's part size, verified by _verify_sizes
    formulas = _survey(xml, max_rows, max_columns)
    del xml
    if formulas is not None:
        return _values(workbook.get_sheet_by_name(name), max_rows, max_columns, formulas)
    with book.open(part) as stream:
        found = _scan(stream, max_rows, max_columns)
    if 0 < found["last_row"] <= max_rows and found["last_column"] <= max_columns:
        return _values(workbook.get_sheet_by_name(name), found["last_row"], found["last_column"], found["formulas"])
    return {**found, "rows": []}


def _xls_sheet(workbook: Any, name: str, max_rows: int, max_columns: int) -> dict[str, Any]:
    sheet = workbook.get_sheet_by_name(name)  # read whole: the memory cap bounds it
    end = sheet.end  # the last cell calamine holds (a formatted empty cell is not one), 0-based
    if end is not None and (end[0] >= max_rows or end[1] >= max_columns):
        return {"rows": [], "formulas": [], "last_row": end[0] + 1, "last_column": end[1] + 1}
    return _values(sheet, max_rows, max_columns, [])


def _wanted(wanted: list[str], names: list[str], first: str | None) -> list[str]:
    """The sheets to read, in order, each once: FIRST_SHEET stands for `first`."""
    found = [first if name == FIRST_SHEET else name for name in wanted]
    return list(dict.fromkeys(name for name in found if name is not None and name in names))


def read(data: bytes, wanted: list[str], max_rows: int, max_columns: int, max_total_bytes: int,
         kind: str = "xlsx", not_first: list[str] | None = None) -> dict[str, Any]:
    """{"names": every sheet, "first": what FIRST_SHEET reads, or None,
    "sheets": [{"name", "rows", "formulas", "last_row", "last_column"}, ...]}.

    `max_rows` counts sheet rows (title and header rows included). Rows are absolute: rows[0]
    is row 1. A sheet past the limits has no rows; its last row and column say how far it goes.
    """
    from python_calamine import CalamineWorkbook

    book = parts = None
    if kind == "xlsx":
        book = zipfile.ZipFile(BytesIO(data))
        _verify_sizes(book, max_total_bytes)
        parts = _sheet_parts(book)
    workbook = CalamineWorkbook.from_filelike(BytesIO(data))
    names = list(workbook.sheet_names)
    first = _first_sheet(workbook, not_first or [])
    sheets = []
    for name in _wanted(wanted, names, first):
        if book is None:
            sheet = _xls_sheet(workbook, name, max_rows, max_columns)
        elif parts is not None and name in parts:
            sheet = _xlsx_sheet(book, parts[name], workbook, name, max_rows, max_columns)
        else:
            continue
        sheets.append({"name": name, **sheet})
    return {"names": names, "first": first, "sheets": sheets}


def main() -> None:
    options = json.loads(sys.argv[1])
    _limit_self(options["memory_bytes"], options["cpu_seconds"])
    try:
        data = sys.stdin.buffer.read()
        result = read(data, options["sheets"], options["max_rows"], options["max_columns"],
                      options["max_total_bytes"], options.get("format", "xlsx"), options.get("not_first"))
        out = json.dumps(result, ensure_ascii=False).encode("utf-8")
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - pyo3's PanicException is a BaseException
        sys.stderr.write(f"{type(exc).__name__}: {str(exc)[:300]}\n")
        sys.exit(_exit_code(exc))
    sys.stdout.buffer.write(out)


def _exit_code(exc: BaseException) -> int:
    """Out of memory, or not readable (zip, XML and calamine errors alike). When the address
    space runs out while calamine makes Python objects, it panics on the null pointer."""
    if isinstance(exc, MemoryError) or "PyObject pointer is null" in str(exc):
        return EXIT_OUT_OF_MEMORY
    return EXIT_NOT_A_WORKBOOK


if __name__ == "__main__":
    main()
