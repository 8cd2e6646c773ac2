"""The Excel import engine, on real files: crafted ones are refused before any XML is parsed,
runaway ones are stopped by the child's limits, clean ones are read by header, and a rejected
upload comes back as an error workbook a clerk can fix and upload again."""

from __future__ import annotations

import io
import struct
import zipfile
from datetime import date
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import Column as SqlColumn
from sqlalchemy import Integer, MetaData, Table, create_engine, insert

from baoxue.platform import imports
from baoxue.platform.errors import Conflict
from baoxue.platform.imports import Column, FileRefused, Limits
from baoxue.platform.spreadsheets import safe_cell, workbook_bytes

PREFLIGHT_REASONS = {"empty", "upload_size", "not_zip", "not_xlsx", "parts", "part_size", "shared_strings",
                     "unzipped_size", "ratio"}

SPEC = {
    "名单": (
        Column("姓名", "name", required=True),
        Column("编号", "code"),
        Column("年级", "grade", text=False, choices=("七年级", "八年级"), strict=False, note="7–9"),
        Column("类型", "kind", choices=("甲", "乙")),
        Column("所在村", "village", ref="村"),
    ),
}


def _xlsx(sheets: dict[str, list[list[Any]]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _rezip(data: bytes, change: dict[str, bytes | None] | None = None, **kw: Any) -> bytes:
    """The same package with some parts replaced (None drops one) or added."""
    change = change or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, **kw) as dst:
        for info in src.infolist():
            if info.filename not in change:
                dst.writestr(info.filename, src.read(info.filename))
        for name, content in change.items():
            if content is not None:
                dst.writestr(name, content)
    return out.getvalue()


def _sheet_xml(rows: str, dimension: str = "A1:B2") -> bytes:
    return (f'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f'<dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>').encode()


def _inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


BASE = _xlsx({"名单": [["姓名"]]})  # a real package whose first sheet's XML the tests replace
HEADER_AND_ONE = f'<row r="1">{_inline("A1", "姓名")}</row><row r="2">{_inline("A2", "王芳")}</row>'


def _with_sheet(xml: bytes) -> bytes:
    return _rezip(BASE, {"xl/worksheets/sheet1.xml": xml})


@pytest.fixture
def no_child(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refusals that must come from the zip's directory alone: starting the parser fails the test."""

    def refuse(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("the file was handed to the parser")

    monkeypatch.setattr(imports.subprocess, "run", refuse)


def _refused(data: bytes, limits: Limits = imports.LIMITS) -> FileRefused:
    with pytest.raises(FileRefused) as info:
        imports.read_upload(data, SPEC, limits)
    message = info.value.errors["file"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message
    return info.value


# --- refused before parsing --------------------------------------------------------------------

def test_not_a_zip_is_not_an_xlsx(no_child: None) -> None:
    refused = _refused(b"name,code\nA,1\n")
    assert refused.reason == "not_zip" and refused.errors == {"file": imports.NOT_XLSX}
    assert _refused(b"").errors == {"file": "请选择要上传的文件。"}
    assert _refused(b"PK\x03\x04" + b"\0" * 100).reason == "not_zip"


def test_a_zip_that_is_not_a_workbook(no_child: None) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("readme.txt", "hello")
    assert _refused(out.getvalue()).reason == "not_xlsx"


def test_too_large_an_upload(no_child: None) -> None:
    refused = _refused(b"0" * (imports.LIMITS.upload_bytes + 1))
    assert refused.reason == "upload_size" and "不能超过 5 MB" in refused.errors["file"]


def test_ten_thousand_entries(no_child: None) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        for n in range(10_000):
            z.writestr(f"x/{n}", b"")
    refused = _refused(out.getvalue())
    assert refused.reason == "parts" and "10001 个部件" in refused.errors["file"]


def test_shared_strings_bomb(no_child: None) -> None:
    # 24 MB of shared strings compressed to a few tens of KB: the kind that took 146 s and 1.9 GB.
    strings = "".join(f"<si><t>{'字' * 1000}</t></si>" for _ in range(8000))
    xml = f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{strings}</sst>'.encode()
    data = _rezip(BASE, {"xl/sharedStrings.xml": xml}, compresslevel=9)
    assert len(data) < 200 * 1024
    refused = _refused(data)
    assert refused.reason == "shared_strings" and "上限 10 MB" in refused.errors["file"]


def test_an_absurd_compression_ratio(no_child: None) -> None:
    rows = "".join(f'<row r="{r}"><c r="A{r}"/></row>' for r in range(3, 200_000))
    data = _with_sheet(_sheet_xml(HEADER_AND_ONE + rows))
    refused = _refused(data, Limits(ratio=5))
    assert refused.reason == "ratio" and "压缩了约" in refused.errors["file"]


def test_the_inflated_total_and_any_one_part_are_bounded(no_child: None) -> None:
    assert _refused(BASE, Limits(unzipped_bytes=4096)).reason == "unzipped_size"
    refused = _refused(BASE, Limits(part_bytes=5000))
    assert refused.reason == "part_size" and "theme1.xml" in refused.errors["file"]


def test_a_part_larger_than_it_claims_is_caught_before_calamine_reads_it() -> None:
    # The zip's directory says the sheet is 300 bytes; it inflates to megabytes. The preflight
    # trusts the directory; the child inflates every part through zipfile first, which stops
    # at the declared size and checks the CRC, so the lie ends as "not an xlsx".
    rows = "".join(f'<row r="{r}">{_inline(f"A{r}", "x")}</row>' for r in range(2, 60_000))
    data = bytearray(_with_sheet(_sheet_xml(rows)))
    name = b"xl/worksheets/sheet1.xml"
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = _header_of(data, signature, name)
        data[at + offset:at + offset + 4] = struct.pack("<I", 300)
    refused = _refused(bytes(data))
    assert refused.reason == "not_xlsx"


def _header_of(data: bytearray, signature: bytes, name: bytes) -> int:
    """Where the local (PK34) or central (PK12) header of the named entry starts."""
    start = 0
    while (at := data.find(signature, start)) >= 0:
        name_at = at + (30 if signature == b"PK\x03\x04" else 46)
        if data[name_at:name_at + len(name)] == name:
            return at
        start = at + 4
    raise AssertionError(name)


# --- read in the child, within its limits -------------------------------------------------------

def test_a_claimed_dimension_of_the_whole_grid_is_ignored() -> None:
    data = _with_sheet(_sheet_xml(HEADER_AND_ONE, dimension="A1:XFD1048576"))
    assert len(data) < 16 * 1024
    book = imports.read_book(data, ["名单"])
    sheet = book.sheets["名单"]
    assert (sheet.last_row, sheet.last_column, sheet.rows) == (2, 1, [["姓名"], ["王芳"]])


def test_a_hundred_thousand_styled_empty_rows_do_not_count() -> None:
    rows = "".join(f'<row r="{r}"><c r="A{r}" s="0"/><c r="B{r}" s="0"/></row>' for r in range(3, 100_003))
    upload = imports.read_upload(_with_sheet(_sheet_xml(HEADER_AND_ONE + rows)), SPEC)
    assert upload.reader.problems == []
    assert [(r.number, r.value("name")) for r in upload.rows["名单"]] == [(2, "王芳")]


def test_rows_past_the_limit_are_a_problem_not_a_truncation() -> None:
    data = _xlsx({"名单": [["姓名"], ["甲"], ["乙"], ["丙"], [None], ["丁"]]})
    upload = imports.read_upload(data, SPEC, Limits(rows=4))
    assert [(p.sheet, p.row, p.message[:6]) for p in upload.reader.problems] == [("名单", 6, "超过 4 行")]
    assert upload.rows["名单"] == []
    # Trailing empty rows, however many, do not count.
    upload = imports.read_upload(_xlsx({"名单": [["姓名"], ["甲"], ["乙"], [None], [""], ["  "]]}), SPEC,
                                 Limits(rows=2))
    assert upload.reader.problems == [] and len(upload.rows["名单"]) == 2


def test_columns_past_the_limit_are_a_problem() -> None:
    upload = imports.read_upload(_xlsx({"名单": [["姓名", None, None, "备注"], ["甲"]]}), SPEC, Limits(columns=3))
    assert [p.message[:6] for p in upload.reader.problems] == ["超过 3 列"]
    assert "第 D 列仍有内容" in upload.reader.problems[0].message


def test_far_apart_cells_never_reach_calamine_and_the_memory_limit_backs_that_up() -> None:
    # Two cells, A1 and XFD1048576: calamine would allocate 17 billion cells (hundreds of GB).
    far = f'<row r="1">{_inline("A1", "姓名")}</row><row r="1048576">{_inline("XFD1048576", "z")}</row>'
    data = _with_sheet(_sheet_xml(far))
    upload = imports.read_upload(data, SPEC)
    assert [p.message[:9] for p in upload.reader.problems] == ["超过 5000 行", "超过 100 列："]

    # With the row limit lifted, calamine does allocate the rectangle between A1 and J1000000
    # (ten million cells, some 300 MB): the child's 128 MB address-space limit stops it.
    tall = f'<row r="1">{_inline("A1", "姓名")}</row><row r="1000000">{_inline("J1000000", "z")}</row>'
    refused = _refused(_with_sheet(_sheet_xml(tall)), Limits(rows=2_000_000, memory_bytes=128 * imports.MB))
    assert refused.reason == "memory" and "128 MB" in refused.errors["file"]


def test_the_wall_time_limit_stops_the_child() -> None:
    rows = "".join(f'<row r="{r}"><c r="A{r}" s="0"/></row>' for r in range(3, 100_003))
    refused = _refused(_with_sheet(_sheet_xml(HEADER_AND_ONE + rows)), Limits(seconds=0.01))
    assert refused.reason == "timeout" and "秒内没有读完" in refused.errors["file"]


def test_a_broken_sheet_is_not_an_xlsx() -> None:
    refused = _refused(_with_sheet(b"<worksheet><sheetData><row r='1'>"))
    assert refused.reason == "not_xlsx" and refused.errors == {"file": imports.NOT_XLSX}


# --- headers, values, problems ---------------------------------------------------------------

def test_cells_keep_their_types_and_places() -> None:
    data = _xlsx({"名单": [["姓名", "编号", "年级"], ["王芳", "0012", 7], [None, 2.5, date(2024, 9, 1)],
                           [True]], "别的": [["x"]]})
    book = imports.read_book(data, ["名单", "没有"])
    assert book.names == ["名单", "别的"] and list(book.sheets) == ["名单"]
    assert book.sheets["名单"].rows == [["姓名", "编号", "年级"], ["王芳", "0012", 7], [None, 2.5, date(2024, 9, 1)],
                                       [True, None, None]]


def test_columns_are_found_by_header_in_any_order() -> None:
    data = _xlsx({"名单": [["备注", "年级（7-9）", "姓名 *", "编号"], ["x", "七年级", "王芳", 12]]})
    upload = imports.read_upload(data, SPEC)
    (row,) = upload.rows["名单"]
    assert (row.value("name"), row.letter("name"), row.value("grade"), row.letter("grade")) == ("王芳", "C", "七年级", "B")
    assert upload.reader.text(row, "code") == "12" and upload.reader.text(row, "kind") == ""
    assert upload.reader.problems == []


def test_a_missing_required_header_is_one_problem_naming_sheet_and_header() -> None:
    upload = imports.read_upload(_xlsx({"名单": [["编号"], ["1"], ["2"]]}), SPEC)
    assert upload.rows["名单"] == []
    assert [(p.key, p.message) for p in upload.reader.problems] == [("名单!1:1", "缺少“姓名”列：第 1 行应有此表头。")]


def test_a_formula_is_reported_as_a_formula_not_as_empty() -> None:
    data = _xlsx({"名单": [["姓名", "编号"], ["=A1", "=1+1"], ["王芳", "3"]]})
    upload = imports.read_upload(data, SPEC)
    first, second = upload.rows["名单"]
    assert upload.reader.text(first, "name") is None and upload.reader.text(second, "name") == "王芳"
    problems = {p.key: p.message for p in upload.reader.problems}
    assert set(problems) == {"名单!A2", "名单!B2"}
    assert "公式（=A1）" in problems["名单!A2"] and "直接输入" in problems["名单!A2"]
    assert "不能为空" not in "".join(problems.values())


def test_text_and_numbers() -> None:
    data = _xlsx({"名单": [["姓名", "编号", "年级"], ["甲", 123456789012345678, "八年级"], ["乙", date(2024, 1, 1), 9]]})
    upload = imports.read_upload(data, SPEC)
    reader = upload.reader
    first, second = upload.rows["名单"]
    assert reader.text(first, "code") is None and reader.text(second, "code") is None
    grade = {"八年级": 8}.get
    assert reader.whole_number(first, "grade", grade, "年级有误") == 8
    assert reader.whole_number(second, "grade", grade, "年级有误") == 9
    assert [p.message for p in reader.problems] == [imports.NUMBER_LOST, "此处应填文字，不能是日期或是/否值。"]


# --- the error workbook ------------------------------------------------------------------------

def test_the_error_workbook_round_trip() -> None:
    source = Workbook()
    source.active.title = "名单"
    for row in [["编号", "姓名"], ["=cmd|' /C calc'!A0", "王芳"], ["0012", "=A1"], ["7", "李四"]]:
        source.active.append(row)
    source.active["A2"].data_type = "s"  # text that merely looks like a formula
    data = io.BytesIO()
    source.save(data)
    upload = imports.read_upload(data.getvalue(), SPEC)
    upload.reader.add(upload.rows["名单"][2], "code", "编号已被使用。")
    rejected = upload.rejected()
    assert rejected.status_code == 400 and "没有导入任何数据" in rejected.detail
    book = load_workbook(io.BytesIO(rejected.error_workbook() or b""))
    assert book.sheetnames == ["问题", "名单"]
    listed = [[c.value for c in row] for row in book["问题"].iter_rows()]
    assert listed[0] == ["工作表", "行", "列", "问题"]
    assert [row[:3] for row in listed[1:]] == [["名单", 3, "B"], ["名单", 4, "A"]]
    ws = book["名单"]
    assert [c.value for c in ws[1]] == ["编号", "姓名", "问题"]
    assert ws["C2"].value is None and ws["C3"].value.startswith("B列：此单元格是公式（=A1）")
    assert ws["C4"].value == "A列：编号已被使用。" and ws["A4"].fill.fgColor.rgb.endswith("FDE2E1")
    # Text that looks like a formula (and the formula itself) come back as text, never run.
    assert ws["A2"].data_type == "s" and ws["A2"].value == "=cmd|' /C calc'!A0" and ws["A2"].quotePrefix
    assert ws["B3"].data_type == "s" and ws["B3"].value == "=A1"
    assert ws["A3"].value == "0012" and ws.column_dimensions["A"].number_format == "@"

    # The clerk fixes the marked cells and uploads the same file: the 问题 column and sheet are ignored.
    ws["B3"].value, ws["A4"].value = "张三", "0013"
    out = io.BytesIO()
    book.save(out)
    again = imports.read_upload(out.getvalue(), SPEC)
    assert again.reader.problems == []
    assert [(r.number, again.reader.text(r, "name"), again.reader.text(r, "code")) for r in again.rows["名单"]] == [
        (2, "王芳", "=cmd|' /C calc'!A0"), (3, "张三", "0012"), (4, "李四", "0013")]


def test_the_error_workbook_lists_header_and_limit_problems_in_its_problem_sheet() -> None:
    upload = imports.read_upload(_xlsx({"名单": [["编号"], ["1"], ["2"]]}), SPEC)
    book = load_workbook(io.BytesIO(upload.rejected().error_workbook() or b""))
    assert [[c.value for c in row] for row in book["问题"].iter_rows(min_row=2)] == [
        ["名单", 1, "整行", "缺少“姓名”列：第 1 行应有此表头。"]]
    assert [[c.value for c in row] for row in book["名单"].iter_rows()] == [["编号", "问题"], ["1", None], ["2", None]]

    upload = imports.read_upload(_xlsx({"名单": [["姓名"], ["甲"], ["乙"], ["丙"]]}), SPEC, Limits(rows=2))
    book = load_workbook(io.BytesIO(upload.rejected().error_workbook() or b""))
    assert [c.value for c in book["问题"][2]][:3] == ["名单", 4, "整行"]
    assert book["问题"]["D2"].value.startswith("超过 2 行")


# --- the template --------------------------------------------------------------------------------

def test_the_template_has_headers_notes_text_columns_and_dropdowns() -> None:
    book = load_workbook(io.BytesIO(imports.write_template({**SPEC, "村": (Column("名称", "name"),)},
                                                         [("标题", True), ("说明文字", False)])))
    assert book.sheetnames == ["说明", "名单", "村"] and book["说明"]["A1"].font.bold
    ws = book["名单"]
    assert [c.value for c in ws[1]] == ["姓名", "编号", "年级", "类型", "所在村"]
    assert ws["A1"].font.color.rgb.endswith("B42318") and ws["C1"].comment.text == "7–9"
    assert ws.column_dimensions["B"].number_format == "@" and ws.column_dimensions["C"].number_format != "@"
    validations = {str(v.sqref).split(":")[0]: v for v in ws.data_validations.dataValidation}
    assert validations["C2"].formula1 == '"七年级,八年级"' and not validations["C2"].showErrorMessage
    assert validations["D2"].showErrorMessage and validations["E2"].formula1 == "'村'!$A$2:$A$1000"


# --- exports never fail on control characters ----------------------------------------------------

def test_exports_drop_control_characters() -> None:
    assert safe_cell("王\x02芳\x1f") == "王芳" and safe_cell("\x02=1+1") == "'=1+1"
    assert safe_cell("第一行\n第二行\t") == "第一行\n第二行\t"
    data = workbook_bytes([("名单", ["姓名", "备注"], [["王\x02芳", "=HYPERLINK(\"x\")\x0b"]])])
    ws = load_workbook(io.BytesIO(data))["名单"]
    assert [ws["A2"].value, ws["B2"].value] == ["王芳", "'=HYPERLINK(\"x\")"]


# --- writing: a race is a 409 ---------------------------------------------------------------

def test_a_unique_constraint_lost_to_a_race_is_a_409_in_chinese() -> None:
    engine = create_engine("sqlite://")
    table = Table("t", MetaData(), SqlColumn("id", Integer, primary_key=True))
    table.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(table).values(id=1))
        with pytest.raises(Conflict) as info, imports.duplicates_as_conflict():
            connection.execute(insert(table).values(id=1))
    assert info.value.status_code == 409 and info.value.detail == imports.CONCURRENT
