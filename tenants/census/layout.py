"""The three lists the township imports, as the people who keep them write them.

Headers are found by name (and their usual variants) within the first rows; other columns are
ignored. A cell is read with the roster import's own checks (`rosters.checks.RowChecker`), so
an ID number with a wrong check digit or lost digits is refused here in the same words.
"""

from __future__ import annotations

from dataclasses import dataclass

from baoxue.platform.imports import FIRST_SHEET, Column, Sheet
from baoxue.tenants.census.models import POVERTY_KINDS
from baoxue.tenants.rosters.layout import GENDER, YES_NO, RosterColumn

ID_ALSO = ("身份证号", "身份证号码", "公民身份号码", "身份证件号", "证件号码")
VILLAGE = RosterColumn("村（社区）", "village", "text", ("村", "村委会", "所属村", "行政村", "村名", "社区"),
                       required=True, max_length=80)


@dataclass(frozen=True)
class ListLayout:
    kind: str  # census | register | poverty
    title: str  # the list's name, as the page and the template say it
    columns: tuple[RosterColumn, ...]
    help: tuple[str, ...]

    @property
    def spec(self) -> dict[str, Sheet]:
        return {FIRST_SHEET: Sheet(tuple(_engine(c) for c in self.columns), header_within=10)}

    @property
    def template_spec(self) -> dict[str, Sheet]:
        return {self.title: Sheet(tuple(_engine(c) for c in self.columns))}


def _engine(c: RosterColumn) -> Column:
    return c.engine_column(POVERTY_KINDS if c.key == "kind" else None)


_CHILD = (
    RosterColumn("姓名", "name", "text", ("儿童姓名", "学生姓名"), required=True, max_length=40, width=10),
    RosterColumn("身份证号", "id_number", "id", ID_ALSO[1:] + ("身份证件号码",), required=True, width=22,
                 note="18 位公民身份号码；请设为文本格式，以免末几位变成 0"),
    RosterColumn("出生日期", "birth_date", "date", ("出生年月日",), width=12, note="可不填：按身份证号计算；填了则须一致"),
    RosterColumn("性别", "gender", "code", codes=GENDER, width=6, note="可不填：按身份证号判断"),
)

CENSUS = ListLayout("census", "文化户口", _CHILD + (
    RosterColumn("组（屯）", "village_group", "text", ("组", "屯", "村民小组", "自然村", "自然村（屯）"), max_length=40),
    RosterColumn("户籍所在地", "hukou_place", "text", ("户口所在地", "户籍地址"), max_length=200, width=24),
    RosterColumn("监护人姓名", "guardian_name", "text", ("监护人", "户主姓名", "家长姓名"), max_length=40),
    RosterColumn("监护人身份证号", "guardian_id_number", "id", ("户主身份证号", "家长身份证号"), width=22),
    RosterColumn("联系电话", "guardian_phone", "phone", ("监护人电话", "家长电话", "电话"), max_length=20),
    RosterColumn("是否在本村居住", "lives_here", "code", ("常住本村", "是否常住", "人户一致"), codes=YES_NO,
                 width=10, note="是 / 否：户籍在本村但人在外地的填“否”"),
    RosterColumn("备注", "note", "text", (), max_length=200, width=20),
), (
    "文化户口（适龄儿童少年）导入模板",
    "每行一名在本村居住或户籍在本村的儿童少年。带红色标题的列必须填写。",
    "身份证号须为 18 位且校验位正确；出生日期、性别可不填，系统按身份证号计算。",
    "文件中有任何一处错误都不会导入，系统会返回标出错误的文件，改正后重新上传即可。",
    "已登记的儿童按身份证号更新；文件中没有的已登记儿童不会被删除，会在导入报告中列出。",
))

REGISTER = ListLayout("register", "户籍", _CHILD + (
    VILLAGE,
    RosterColumn("组（屯）", "village_group", "text", ("组", "屯", "村民小组", "自然村"), max_length=40),
    RosterColumn("户籍地址", "hukou_place", "text", ("住址", "户籍所在地", "户口所在地"), max_length=200, width=24),
    RosterColumn("户主姓名", "guardian_name", "text", ("户主", "监护人姓名"), max_length=40),
    RosterColumn("户主身份证号", "guardian_id_number", "id", ("户主公民身份号码", "监护人身份证号"), width=22),
), (
    "户籍人口（6—15 周岁）导入模板（派出所）",
    "每行一名户籍在本乡镇的儿童少年，“村（社区）”须与系统中的村名一致。",
    "身份证号须为 18 位且校验位正确；文件中有任何一处错误都不会导入。",
))

POVERTY = ListLayout("poverty", "贫困户", (
    RosterColumn("户主姓名", "householder", "text", ("户主", "姓名"), required=True, max_length=40, width=10),
    RosterColumn("户主身份证号", "guardian_id_number", "id", ID_ALSO, required=True, width=22),
    RosterColumn("类别", "kind", "text", ("户类型", "户籍类型", "帮扶类别", "类型"), required=True, max_length=20,
                 note="、".join(POVERTY_KINDS)),
    RosterColumn("村（社区）", "village", "text", VILLAGE.also, max_length=80),
), (
    "脱贫户、低保户名单导入模板（财政、社会事务办）",
    "每行一户，按户主（监护人）身份证号与辍学、疑似辍学学生的家庭比对。",
    "类别填：" + "、".join(POVERTY_KINDS) + "。文件中有任何一处错误都不会导入。",
))

LAYOUTS = {layout.kind: layout for layout in (CENSUS, REGISTER, POVERTY)}
