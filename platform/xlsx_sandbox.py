"""The child process that reads an uploaded .xlsx: standard library and python-calamine only.

`baoxue.platform.imports` runs this file as a script (`python -I xlsx_sandbox.py '<json>'`),
the workbook's bytes on stdin, and reads JSON from stdout. It never imports the application:
it starts in a few tens of milliseconds, and a file crafted to exhaust memory or time takes
only this process down. Before anything is parsed the process caps itself: address space
(RLIMIT_AS), CPU seconds, no files written. The parent also kills it after its wall time.

Exit codes: 0 done (JSON on stdout), 2 not a readable workbook, 3 out of memory. A Rust
allocation failure inside calamine aborts the process (SIGABRT); the parent reads that as
"out of memory" too.

Per wanted sheet, one streaming pass over its XML comes first (memory bounded by one row):
it finds the last row and column that hold anything, and every formula cell. A sheet whose
content reaches past the row or column limit is not handed to calamine at all (calamine
allocates the whole rectangle between the first and the last cell); the parent reports it.
A sheet's claimed `<dimension>` is never read.
"""

from __future__ import annotations

import json
import posixpath
import resource
import sys
import zipfile
from datetime import date, datetime, time, timedelta
from io import BytesIO
from typing import Any
from xml.etree import ElementTree

EXIT_NOT_A_WORKBOOK = 2
EXIT_OUT_OF_MEMORY = 3
_CHUNK = 1 << 20
_OFFICE_DOCUMENT = "/officeDocument"


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


def _cell_position(ref: str) -> tuple[int, int]:
    """"AB12" -> (12, 28), both 1-based."""
    column = 0
    index = 0
    while index < len(ref) and ref[index].isalpha():
        column = column * 26 + (ord(ref[index].upper()) - 64)
        index += 1
    return int(ref[index:]), column


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


def _plain(value: Any) -> Any:
    """A calamine value as JSON: "" is an empty cell, whole floats are ints, dates are tagged."""
    if value == "" or value is None:
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, time):
        return {"time": value.isoformat()}
    if isinstance(value, timedelta):
        return {"seconds": value.total_seconds()}
    return value


def read(data: bytes, wanted: list[str], max_rows: int, max_columns: int, max_total_bytes: int) -> dict[str, Any]:
    """{"names": every sheet, "sheets": {name: {"rows", "formulas", "last_row", "last_column"}}}.

    `max_rows` counts sheet rows (the header included). Rows are absolute: rows[0] is row 1.
    """
    from python_calamine import CalamineWorkbook

    book = zipfile.ZipFile(BytesIO(data))
    _verify_sizes(book, max_total_bytes)
    parts = _sheet_parts(book)
    workbook = CalamineWorkbook.from_filelike(BytesIO(data))
    sheets: dict[str, Any] = {}
    for name in wanted:
        if name not in parts or name not in workbook.sheet_names:
            continue
        with book.open(parts[name]) as stream:
            found = _scan(stream, max_rows, max_columns)
        found["rows"] = []
        if 0 < found["last_row"] <= max_rows and found["last_column"] <= max_columns:
            width = found["last_column"]
            values = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False, nrows=found["last_row"])
            found["rows"] = [[_plain(v) for v in row[:width]] for row in values]
        sheets[name] = found
    return {"names": list(workbook.sheet_names), "sheets": sheets}


def main() -> None:
    options = json.loads(sys.argv[1])
    _limit_self(options["memory_bytes"], options["cpu_seconds"])
    try:
        data = sys.stdin.buffer.read()
        result = read(data, options["sheets"], options["max_rows"], options["max_columns"],
                      options["max_total_bytes"])
        out = json.dumps(result, ensure_ascii=False).encode("utf-8")
    except MemoryError:
        sys.exit(EXIT_OUT_OF_MEMORY)
    except Exception as exc:  # noqa: BLE001 - zip, XML and calamine errors all mean "not readable"
        sys.stderr.write(f"{type(exc).__name__}: {str(exc)[:300]}\n")
        sys.exit(EXIT_NOT_A_WORKBOOK)
    sys.stdout.buffer.write(out)


if __name__ == "__main__":
    main()
