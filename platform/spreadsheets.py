"""Writing spreadsheets people open in Excel or WPS: safe cells, long numbers kept as text."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from litestar import Response

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_download(data: bytes, filename: str) -> Response[bytes]:
    """An attachment with a Chinese file name that Excel, WPS and every browser keep."""
    ascii_name = "baoxue.xlsx"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(content=data, media_type=XLSX_MEDIA_TYPE, headers={"Content-Disposition": disposition})


def printable(text: str) -> str:
    """Without the control characters an .xlsx cannot hold (openpyxl refuses "\\x02" and the like)."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is prefixed with a quote (CSV injection);
    control characters, which no .xlsx may hold, are dropped, so an export never fails on them."""
    if isinstance(value, str):
        value = printable(value)
        if value.startswith(FORMULA_STARTS):
            return "'" + value
    return value


def workbook_bytes(sheets: Iterable[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> bytes:
    """One sheet per (title, headers, rows); every cell is text-safe, numbers of IDs stay text."""
    wb = Workbook(write_only=False)
    wb.remove(wb.active)
    for title, headers, rows in sheets:
        ws = wb.create_sheet(title)
        ws.append(list(headers))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append([safe_cell(v) for v in row])
        for index, header in enumerate(headers, start=1):
            ws.column_dimensions[get_column_letter(index)].width = max(10, len(str(header)) * 2 + 4)
        for column in ws.iter_cols(min_row=2):
            for cell in column:
                if isinstance(cell.value, str):
                    cell.number_format = "@"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
