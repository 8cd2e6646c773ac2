"""The academic office's roster import, in a real browser: a bad row named, its cell marked in
the error workbook, fixed there and imported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from baoxue.tenants.students.idnumbers import check_digit, is_valid_id_number
from tests.browser.conftest import shot
from tests.browser.test_pages import login

ID_HEADER = "身份证件号"


def _download(page: Any, link_text: str, folder: Path) -> Path:
    with page.expect_download() as info:
        page.click(f"text={link_text}")
    path = folder / info.value.suggested_filename
    info.value.save_as(path)
    return path


def _fix_marked_id(workbook_path: Path, fixed_path: Path) -> str:
    """Correct the check digit of the ID cell the error workbook marked (red, with a comment)."""
    book = load_workbook(workbook_path)
    sheet = next(ws for ws in book.worksheets if ws.title != "问题")
    header_row = next(r for r in sheet.iter_rows() if any(c.value == ID_HEADER for c in r))
    column = next(c.column for c in header_row if c.value == ID_HEADER)
    marked = [row[column - 1] for row in sheet.iter_rows(min_row=header_row[0].row + 1)
              if row[column - 1].comment is not None]
    assert len(marked) == 1, [c.coordinate for c in marked]
    cell = marked[0]
    assert cell.fill.fgColor.rgb.endswith("FDE2E1") and "校验" in cell.comment.text
    wrong = str(cell.value)
    cell.value = wrong[:17] + check_digit(wrong[:17])
    assert is_valid_id_number(cell.value)
    book.save(fixed_path)
    return cell.coordinate


def test_a_bad_row_is_named_marked_fixed_and_imported(page: Any, live_server: str, tmp_path: Path) -> None:
    # The other township's central primary: the shared demo's BD rosters stay as other tests expect.
    login(page, live_server, "lg_cps_academic")
    page.click("nav >> text=学籍名册")
    page.wait_for_selector("text=上传名册")
    sample = _download(page, "下载试用文件", tmp_path)

    page.set_input_files("#f-file", str(sample))
    page.click("text=上传并导入")
    page.wait_for_selector("#problems-title")
    shot(page, "roster-upload-refused")
    problems = page.locator("section[aria-labelledby=problems-title]").inner_text()
    assert "没有导入任何数据" in problems or "不导入" in problems or "没有导入" in problems
    assert ID_HEADER in problems and "校验" in problems

    marked = _download(page, "下载标出问题的文件", tmp_path)
    fixed = tmp_path / "fixed.xlsx"
    coordinate = _fix_marked_id(marked, fixed)
    assert coordinate  # the cell the page named, now corrected

    page.set_input_files("#f-file", str(fixed))
    page.click("text=上传并导入")
    page.wait_for_selector("#report-title")
    shot(page, "roster-upload-imported")
    cards = {label: int(number) for number, label in zip(
        page.locator(".card-number").all_inner_texts(), page.locator(".card-label").all_inner_texts())}
    assert cards["新增学生"] == 3 and cards["更新学生"] == 1, cards
    assert cards["没有变化"] == cards["名册行数"] - 4
