"""The import engine on the national roster's shapes, with real files and the real child process:
an .xls as well as an .xlsx, the first sheet whatever its name, title rows above the header,
headers spelled several ways, per-call limits for ten thousand rows and more, and an error
workbook that marks each bad cell where the clerk will look for it."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
import xlwt
from openpyxl import Workbook, load_workbook

from baoxue.platform import imports
from baoxue.platform.imports import FIRST_SHEET, Column, FileRefused, Limits, Sheet

COLUMNS = (
    Column("姓名", "name", required=True),
    Column("身份证件号", "id_number", required=True, also=("身份证件号码", "证件号码", "身份证号")),
    Column("出生日期", "birth_date", text=False, also=("出生年月日",)),
    Column("班级", "class", note="如 七年级（1）班"),
)
ROSTER = {FIRST_SHEET: Sheet(COLUMNS, header_within=20)}
XLS = Limits(xls=True)
TITLES = [["板当镇中心学校学生名册"], ["导出时间：2026-09-01", None, "单位：人"]]
HEADER = ["序号", "姓名", "身份证件号", "出生日期", "班级"]


def _xlsx(sheets: dict[str, list[list[Any]]], hidden: tuple[str, ...] = ()) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
        if title in hidden:
            ws.sheet_state = "hidden"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xls(sheets: dict[str, list[list[Any]]]) -> bytes:
    """A real BIFF8 .xls, as Excel 97–2003 and the national system's older exports write it."""
    book = xlwt.Workbook(encoding="utf-8")
    as_date = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for title, rows in sheets.items():
        ws = book.add_sheet(title)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, date):
                    ws.write(r, c, value, as_date)
                elif value is not None:
                    ws.write(r, c, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _rows(upload: imports.Upload, key: str = FIRST_SHEET) -> list[tuple[Any, ...]]:
    return [(row.number, row.value("name"), row.value("id_number"), row.value("birth_date"), row.value("class"))
            for row in upload.rows[key]]


# --- .xls ---------------------------------------------------------------------------------------

def test_an_xls_is_read_like_an_xlsx() -> None:
    data = _xls({"学生基础信息": [*TITLES, HEADER, [1, "王芳", "522727201203040021", date(2012, 3, 4), "七年级（1）班"],
                                 [2, "李四", "52272720120506003X", date(2012, 5, 6), "七年级（2）班"], [3, 2.5]]})
    assert data.startswith(imports.XLS_SIGNATURE)
    upload = imports.read_upload(data, ROSTER, XLS)
    assert upload.reader.problems == [] and upload.header_rows == {FIRST_SHEET: 3}
    assert upload.book.first == "学生基础信息" and upload.present == [FIRST_SHEET]
    assert _rows(upload) == [(4, "王芳", "522727201203040021", date(2012, 3, 4), "七年级（1）班"),
                             (5, "李四", "52272720120506003X", date(2012, 5, 6), "七年级（2）班"),
                             (6, 2.5, None, None, None)]
    sheet = upload.book.sheet(FIRST_SHEET)
    assert sheet is not None and (sheet.last_row, sheet.last_column, sheet.formulas) == (6, 5, {})
    assert sheet.rows[5] == [3, 2.5, None, None, None]  # whole numbers are ints, as from an .xlsx


def test_xls_preflight_and_refusals() -> None:
    data = _xls({"名单": [["姓名"], ["王芳"]]})
    # Only where the call takes .xls; elsewhere it is, as before, not a valid .xlsx.
    with pytest.raises(FileRefused) as info:
        imports.read_upload(data, ROSTER)
    assert info.value.reason == "not_zip" and info.value.errors == {"file": imports.NOT_XLSX}
    assert imports.preflight(data, XLS) == "xls" and imports.preflight(_xlsx({"名单": [["姓名"]]}), XLS) == "xlsx"
    for junk, reason in ((b"name,code\n", "not_zip"), (imports.XLS_SIGNATURE + b"\0" * 600, "not_xls")):
        with pytest.raises(FileRefused) as info:
            imports.read_upload(junk, ROSTER, XLS)
        assert info.value.reason == reason and info.value.errors == {"file": "文件不是有效的 Excel（.xlsx 或 .xls）文件。"}
    with pytest.raises(FileRefused) as info:
        imports.preflight(data, Limits(xls=True, upload_bytes=len(data) - 1))
    assert info.value.reason == "upload_size"


def test_xls_rows_and_columns_past_the_limits_are_problems() -> None:
    data = _xls({"名单": [*TITLES, HEADER, *[[n, f"学生{n}"] for n in range(1, 6)]]})
    upload = imports.read_upload(data, ROSTER, Limits(xls=True, rows=4))
    assert [(p.row, p.message[:6]) for p in upload.reader.problems] == [(8, "超过 4 行")]
    upload = imports.read_upload(data, ROSTER, Limits(xls=True, rows=5))
    assert upload.reader.problems == [] and [r.number for r in upload.rows[FIRST_SHEET]] == [4, 5, 6, 7, 8]
    upload = imports.read_upload(data, ROSTER, Limits(xls=True, columns=4))
    assert [p.message[:6] for p in upload.reader.problems] == ["超过 4 列"]


# --- which sheet, which row is the header --------------------------------------------------------

def test_the_first_sheet_whatever_its_name_and_problems_carry_its_real_name() -> None:
    data = _xlsx({"辅助": [["x"]], "学生信息（导出）": [HEADER, [1, "王芳", 522727201203040021]], "其他": [["y"]]},
                 hidden=("辅助",))
    upload = imports.read_upload(data, ROSTER)
    (row,) = upload.rows[FIRST_SHEET]
    assert row.sheet == "学生信息（导出）" and upload.book.names == ["辅助", "学生信息（导出）", "其他"]
    assert list(upload.book.sheets) == ["学生信息（导出）"]  # only the sheet asked for is read
    assert upload.reader.text(row, "id_number") is None  # 18 digits typed as a number have lost some
    assert [p.key for p in upload.reader.problems] == ["学生信息（导出）!C2"]


def test_the_header_below_title_rows() -> None:
    rows = [*TITLES, HEADER, [1, "王芳", "522727201203040021", "2012-03-04"], [None], [2, "李四", "1"]]
    upload = imports.read_upload(_xlsx({"Sheet1": rows}), ROSTER)
    assert upload.reader.problems == [] and upload.header_rows == {FIRST_SHEET: 3}
    assert _rows(upload) == [(4, "王芳", "522727201203040021", "2012-03-04", None), (6, "李四", "1", None, None)]

    # Without header_within the header must be row 1: the spec is read as before.
    upload = imports.read_upload(_xlsx({"Sheet1": rows}), {FIRST_SHEET: COLUMNS})
    assert [(p.key, p.message) for p in upload.reader.problems] == [
        ("Sheet1!1:1", "缺少“姓名”列：第 1 行应有此表头。"), ("Sheet1!1:1", "缺少“身份证件号”列：第 1 行应有此表头。")]


def test_the_header_is_the_row_naming_the_most_columns_the_earliest_on_a_tie() -> None:
    rows = [["姓名"],  # a title that happens to read like a header, but lacks a required column
            ["姓名", "身份证件号"], ["姓名", "身份证件号", "班级"], ["姓名", "身份证件号", "班级"], ["王芳", "1", "一班"]]
    upload = imports.read_upload(_xlsx({"名单": rows}), ROSTER)
    assert upload.header_rows == {FIRST_SHEET: 3}
    assert [r.number for r in upload.rows[FIRST_SHEET]] == [4, 5]

    # No row names every required column: the best one is named in the problem.
    upload = imports.read_upload(_xlsx({"名单": [["名册"], ["序号", "姓名", "班级"], [1, "王芳", "一班"]]}), ROSTER)
    assert [(p.key, p.message) for p in upload.reader.problems] == [("名单!2:2", "缺少“身份证件号”列：第 2 行应有此表头。")]
    upload = imports.read_upload(_xlsx({"名单": [["名册"], ["甲", "乙"], ["王芳", "1"]]}), ROSTER)
    assert [p.message for p in upload.reader.problems] == ["缺少“姓名”列：前 20 行中都没有此表头。",
                                                           "缺少“身份证件号”列：前 20 行中都没有此表头。"]


def test_headers_spelled_another_way() -> None:
    data = _xlsx({"名单": [["姓 名", "证件号码（18位）", "出生年月日 *"], ["王芳", "522727201203040021", date(2012, 3, 4)]]})
    upload = imports.read_upload(data, ROSTER)
    (row,) = upload.rows[FIRST_SHEET]
    assert (row.letter("id_number"), row.value("id_number"), row.value("birth_date")) == (
        "B", "522727201203040021", date(2012, 3, 4))
    assert row.letter("class") == "" and "class" not in row.cells and set(row.cells) == {"name", "id_number",
                                                                                         "birth_date"}
    # The template writes the header itself.
    template = load_workbook(io.BytesIO(imports.write_template({"学籍名册": COLUMNS}, [("说明", True)])))
    assert [c.value for c in template["学籍名册"][1]] == ["姓名", "身份证件号", "出生日期", "班级"]
    with pytest.raises(ValueError):
        imports.write_template(ROSTER, [])


def test_a_filled_in_template_is_read_past_its_help_sheet() -> None:
    template = load_workbook(io.BytesIO(imports.write_template({"学籍名册": COLUMNS}, [("说明", True)])))
    template["学籍名册"].append(["王芳", "522727201203040021"])
    out = io.BytesIO()
    template.save(out)
    upload = imports.read_upload(out.getvalue(), ROSTER)
    assert upload.book.first == "学籍名册" and [r.value("name") for r in upload.rows[FIRST_SHEET]] == ["王芳"]


# --- limits per call ----------------------------------------------------------------------------

def test_a_roster_limit_lets_twelve_thousand_rows_through_the_default_does_not() -> None:
    rows = [*TITLES, HEADER, *[[n, f"学生{n}", f"5227272012{n:08d}", date(2012, 1, 1), "一班"]
                               for n in range(1, 12_001)]]
    data = _xlsx({"学生": rows})
    upload = imports.read_upload(data, ROSTER)
    assert [(p.row, p.message[:9]) for p in upload.reader.problems] == [(12_003, "超过 5000 行")]
    assert upload.rows[FIRST_SHEET] == []

    upload = imports.read_upload(data, ROSTER, Limits(rows=20_000))
    assert upload.reader.problems == [] and len(upload.rows[FIRST_SHEET]) == 12_000
    last = upload.rows[FIRST_SHEET][-1]
    assert (last.number, last.value("name"), last.value("id_number")) == (12_003, "学生12000", "522727201200012000")


def test_for_rows_scales_every_size_cap_and_keeps_the_defaults() -> None:
    assert imports.LIMITS == Limits() and (Limits().rows, Limits().memory_bytes) == (5000, 512 * imports.MB)
    roster = Limits.for_rows(20_000, 80, xls=True)
    assert (roster.rows, roster.columns, roster.xls) == (20_000, 80, True)
    # 1.6 million cells: an .xls of ~13 bytes a cell, a sheet's XML of ~47, the child's ~250 bytes.
    assert roster.upload_bytes >= 1_600_000 * 13 and roster.part_bytes >= 1_600_000 * 47
    assert roster.memory_bytes >= 1_600_000 * 250 and roster.unzipped_bytes > roster.part_bytes
    small = Limits.for_rows(100, 5)
    assert (small.upload_bytes, small.part_bytes, small.memory_bytes, small.seconds) == (
        Limits().upload_bytes, Limits().part_bytes, Limits().memory_bytes, Limits().seconds)


def test_content_just_past_a_limit_is_caught_just_within_it_is_read() -> None:
    # Exactly at the limits the sheet is read; one row or one column more is a problem.
    limits, spec = Limits(rows=99, columns=27), {"名单": (Column("姓名", "name", required=True),)}
    at = _xlsx({"名单": [["姓名"], *[[f"甲{n}"] for n in range(1, 99)], [None] * 26 + ["AA"]]})
    upload = imports.read_upload(at, spec, limits)
    assert upload.reader.problems == [] and len(upload.rows["名单"]) == 99
    past_row = _xlsx({"名单": [["姓名"], *[[f"甲{n}"] for n in range(1, 101)]]})
    problems = imports.read_upload(past_row, spec, limits).reader.problems
    assert [p.message.split("：")[0] for p in problems] == ["超过 99 行"]
    past_column = _xlsx({"名单": [["姓名"], [None] * 27 + ["AB"]]})
    problems = imports.read_upload(past_column, spec, limits).reader.problems
    assert [p.message.split("：")[0] for p in problems] == ["超过 27 列"]


def test_an_unusual_layout_is_read_the_same() -> None:
    # Cells without references and a prefixed namespace, as a few writers make them: read by
    # the streaming scan instead of the quick survey, to the same rows and formulas.
    sheet = ('<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>'
             '<x:row r="1"><x:c t="inlineStr"><x:is><x:t>姓名</x:t></x:is></x:c>'
             '<x:c t="inlineStr"><x:is><x:t>班级</x:t></x:is></x:c></x:row>'
             '<x:row r="2"><x:c t="inlineStr"><x:is><x:t>王芳</x:t></x:is></x:c><x:c><x:f>A1&amp;"班"</x:f></x:c></x:row>'
             '<x:row r="3"><x:c s="0"/></x:row></x:sheetData></x:worksheet>').encode()
    plain = ('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
             '<row r="1"><c r="A1" t="inlineStr"><is><t>姓名</t></is></c><c r="B1" t="inlineStr"><is><t>班级</t></is></c>'
             '</row><row r="2"><c r="A2" t="inlineStr"><is><t>王芳</t></is></c><c r="B2"><f>A1&amp;"班"</f></c></row>'
             '<row r="3"><c r="A3" s="0"/></row></sheetData></worksheet>').encode()
    read = []
    for xml in (sheet, plain):
        data = _replace_part(_xlsx({"名单": [["x"]]}), "xl/worksheets/sheet1.xml", xml)
        book = imports.read_book(data, ["名单"])
        read.append((book.sheets["名单"].rows, book.sheets["名单"].formulas, book.sheets["名单"].last_row))
    assert read[0] == read[1] == ([["姓名", "班级"], ["王芳", None]], {(2, 2): 'A1&"班"'}, 2)


def _replace_part(data: bytes, name: str, content: bytes) -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, content if info.filename == name else src.read(info.filename))
    return out.getvalue()


# --- the error workbook -------------------------------------------------------------------------

def test_the_error_workbook_marks_cells_below_a_header_on_row_3() -> None:
    rows = [*TITLES, HEADER, [1, "王芳", "522727201203040021", "2012-03-04", "一班"], [2, "李四", "123", None, "=1+1"],
            [3, "张三", "X", "2013-13-01", "二班"]]
    upload = imports.read_upload(_xlsx({"学生信息": rows}), ROSTER)
    first, second, third = upload.rows[FIRST_SHEET]
    upload.reader.add(second, "id_number", "身份证件号应为 18 位。")
    upload.reader.add(third, "id_number", "身份证件号应为 18 位。")
    upload.reader.add(third, "birth_date", "出生日期不是有效的日期。")
    upload.reader.add(third, "id_number", "与第 5 行重复。")
    book = load_workbook(io.BytesIO(upload.rejected().error_workbook() or b""))
    assert book.sheetnames == ["问题", "学生信息"]
    assert [[c.value for c in r] for r in book["问题"].iter_rows(min_row=2)] == [
        ["学生信息", 5, "E", upload.reader.problems[0].message], ["学生信息", 5, "C", "身份证件号应为 18 位。"],
        ["学生信息", 6, "C", "身份证件号应为 18 位。"], ["学生信息", 6, "D", "出生日期不是有效的日期。"],
        ["学生信息", 6, "C", "与第 5 行重复。"]]

    ws = book["学生信息"]
    # The title rows come back as they were; the header row is styled and gets the 问题 column.
    assert [ws["A1"].value, ws["A2"].value, ws["C2"].value] == ["板当镇中心学校学生名册", "导出时间：2026-09-01", "单位：人"]
    assert [c.value for c in ws[3]] == [*HEADER, "问题"]
    assert ws["B3"].font.color.rgb.endswith("B42318") and ws["E3"].comment.text == "如 七年级（1）班"
    assert ws["A3"].comment is None and ws.freeze_panes == "A4"
    assert ws["B4"].value == "王芳" and ws["F4"].value is None and ws["C4"].fill.fgColor.rgb == "00000000"
    # Each bad cell: filled, its reasons as a comment; the row's reasons at its end.
    assert ws["E5"].value == "=1+1" and ws["E5"].data_type == "s" and ws["E5"].fill.fgColor.rgb.endswith("FDE2E1")
    assert ws["C5"].comment.text == "身份证件号应为 18 位。" and ws["C5"].fill.fgColor.rgb.endswith("FDE2E1")
    assert ws["F5"].value.startswith("E列：此单元格是公式（=1+1）") and "C列：身份证件号应为 18 位。" in ws["F5"].value
    assert ws["C6"].comment.text == "身份证件号应为 18 位。；与第 5 行重复。"
    assert ws["D6"].comment.text == "出生日期不是有效的日期。" and ws["B6"].comment is None
    assert ws["F6"].value == "C列：身份证件号应为 18 位。；D列：出生日期不是有效的日期。；C列：与第 5 行重复。"
    assert ws.column_dimensions["C"].number_format == "@"

    # Fixed and uploaded again, it reads the same way (the 问题 sheet and column are skipped).
    ws["C5"].value, ws["E5"].value, ws["C6"].value, ws["D6"].value = "52272720120506003X", "二班", "1", "2013-01-01"
    out = io.BytesIO()
    book.save(out)
    again = imports.read_upload(out.getvalue(), ROSTER)
    assert again.reader.problems == [] and again.header_rows == {FIRST_SHEET: 3}
    assert [(r.sheet, r.number, r.value("id_number"), r.value("class")) for r in again.rows[FIRST_SHEET]] == [
        ("学生信息", 4, "522727201203040021", "一班"), ("学生信息", 5, "52272720120506003X", "二班"),
        ("学生信息", 6, "1", "二班")]
