"""The national student-status (学籍) layout: its columns, their other spellings, their code tables.

A roster comes from the national system (全国中小学生学籍信息管理系统) as the school exports it:
headers in its own words (and in the variants provinces and versions use), values as names
("男", "居民身份证", "单亲留守儿童") or as codes (1, 1, 1), dates in several shapes, and
dozens of columns the work does not use. This module says, for each column the work keeps,
what the national header is (the order of DOMAIN.md §13, used for export and the template),
which other headers mean the same, and how a cell's text becomes the value stored on
`Student`; and back, how a stored value is written as the name the national file shows.

Only the columns below are read; any other column of the file is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from baoxue.platform.imports import Column
from baoxue.tenants.students.models import DISABILITIES, HUKOU_NATURES, ID_TYPES, LEFT_BEHIND
from baoxue.tenants.tenancy.service import GRADE_NAMES

SHEET = "学籍名册"  # the sheet the export and the template write; an upload's first sheet is read whatever its name


@dataclass(frozen=True)
class Codes:
    """A national code table: the stored value's name (written on export), and every spelling read.

    `names`: stored value -> the national name. `aliases`: more spellings -> stored value. The
    national codes themselves are aliases too ("1" for 男); a code typed as a number (1, 01) is
    the same code.
    """

    names: Mapping[Any, str]
    aliases: Mapping[str, Any] = field(default_factory=dict)
    codes: Mapping[str, Any] = field(default_factory=dict)  # national code -> stored value

    def lookup(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for code, value in self.codes.items():
            found[code] = value
            if code.isdigit():
                found[str(int(code))] = value  # 01 and 1
        for value, name in self.names.items():
            found[name] = value
        found.update(self.aliases)
        return found

    def name(self, value: Any) -> str:
        """The national name of a stored value ("" for none; an unknown value as it is)."""
        return self.names.get(value, "" if value in (None, "") else str(value))

    def choices(self) -> tuple[str, ...]:
        return tuple(name for name in self.names.values() if name)


def _coded(table: Mapping[str, str]) -> Codes:
    """A table whose stored value is its national code ("1" -> 居民身份证)."""
    return Codes(names=dict(table), codes={code: code for code in table if code})


GENDER = Codes(names={"男": "男", "女": "女"}, codes={"1": "男", "2": "女"}, aliases={"男性": "男", "女性": "女"})

# GB/T 3304 民族 codes; stored as the name (the record reads "苗族").
_ETHNIC = ("汉族 蒙古族 回族 藏族 维吾尔族 苗族 彝族 壮族 布依族 朝鲜族 满族 侗族 瑶族 白族 土家族 哈尼族 哈萨克族 傣族 "
           "黎族 傈僳族 佤族 畲族 高山族 拉祜族 水族 东乡族 纳西族 景颇族 柯尔克孜族 土族 达斡尔族 仫佬族 羌族 布朗族 "
           "撒拉族 毛南族 仡佬族 锡伯族 阿昌族 普米族 塔吉克族 怒族 乌孜别克族 俄罗斯族 鄂温克族 德昂族 保安族 裕固族 "
           "京族 塔塔尔族 独龙族 鄂伦春族 赫哲族 门巴族 珞巴族 基诺族").split()
ETHNICITY = Codes(
    names={**{name: name for name in _ETHNIC}, "其他": "其他", "外国血统中国籍人士": "外国血统中国籍人士"},
    codes={**{f"{i:02d}": name for i, name in enumerate(_ETHNIC, start=1)}, "97": "其他", "98": "外国血统中国籍人士"},
    aliases={name.removesuffix("族"): name for name in _ETHNIC if len(name) > 2},
)

ID_TYPE = Codes(names=ID_TYPES, codes={code: code for code in ID_TYPES},
                aliases={"身份证": "1", "户口本": "7", "z": "Z"})
RESIDENT_ID = "1"
HOUSEHOLD_BOOKLET = "7"  # carries the same 公民身份号码 as the ID card
OTHER_ID = "Z"
# The ID types whose number is a 公民身份号码 (GB 11643): checked digit by digit.
CITIZEN_NUMBER_TYPES = frozenset({RESIDENT_ID, HOUSEHOLD_BOOKLET})

LEFT_BEHIND_CODES = Codes(names=LEFT_BEHIND, codes={"0": 0, "1": 1, "2": 2},
                          aliases={"否": 0, "非留守": 0, "非留守儿童": 0, "不是": 0, "单亲留守": 1, "双亲留守": 2})
HUKOU = _coded(HUKOU_NATURES)
HUKOU_ALIASES = {"农业": "1", "农村户口": "1", "非农业": "2", "城镇户口": "2"}
DISABILITY = Codes(names=DISABILITIES, codes={code: code for code in DISABILITIES if code},
                   aliases={"无": "", "0": "", "否": "", "非残疾": "", "无残疾": "", "视力": "1", "听力": "2",
                            "言语": "3", "肢体": "4", "智力": "5", "精神": "6", "多重": "7"})
YES_NO = Codes(names={True: "是", False: "否"}, codes={"1": True, "0": False},
               aliases={"Y": True, "N": False, "y": True, "n": False, "TRUE": True, "FALSE": False,
                        "true": True, "false": False})
BOARDING = Codes(names={False: "走读", True: "住校"}, codes={"1": False, "2": True},
                 aliases={"寄宿": True, "住读": True})

# GB/T 4761 family relations: the record stores the name; a code is read as its name.
RELATIONS = {"51": "父亲", "52": "母亲", "57": "继父", "58": "继母", "59": "其他父母关系", "61": "祖父", "62": "祖母",
             "63": "外祖父", "64": "外祖母", "71": "兄", "73": "弟", "75": "姐姐", "77": "妹妹", "80": "其他亲属",
             "81": "伯父", "82": "伯母", "83": "叔父", "84": "婶母", "85": "舅父", "86": "舅母", "87": "姨父",
             "88": "姨母", "89": "姑父", "90": "姑母", "99": "非亲属"}

# 年级: names, digits, the national grade codes (11–16 primary, 21–23 junior middle) and 初一…初三.
_NUMERALS = "一二三四五六七八九"
GRADES: dict[str, int] = {
    **{name: grade for grade, name in enumerate(GRADE_NAMES) if name},
    **{f"{grade}年级": grade for grade in range(1, 10)},
    **{str(grade): grade for grade in range(1, 10)},
    **{f"1{grade}": grade for grade in range(1, 7)},
    **{f"2{grade}": grade + 6 for grade in range(1, 4)},
    **{f"小学{_NUMERALS[g - 1]}年级": g for g in range(1, 7)},
    **{f"初中{_NUMERALS[g - 1]}年级": g + 6 for g in range(1, 4)},
    **{f"初{_NUMERALS[g - 1]}": g + 6 for g in range(1, 4)},
    **{f"初{g}": g + 6 for g in range(1, 4)},
}


@dataclass(frozen=True)
class RosterColumn:
    """One column the work keeps. `key` is the `students` column it fills."""

    header: str  # the national header, as export and template write it
    key: str
    kind: str  # text | code | flag | date | month | grade | class | id | student_number | phone | distance
    also: tuple[str, ...] = ()  # other headers meaning the same column
    codes: Codes | None = None
    required: bool = False
    max_length: int = 0
    width: int = 12
    note: str = ""

    def engine_column(self, choices: tuple[str, ...] | None = None) -> Column:
        """The import engine's column: the template offers the code table's names as a drop-down
        (unless `choices` says otherwise, or the table is too long for one); cells are read as
        text, so that a long ID number keeps its digits."""
        if choices is None:
            choices = self.codes.choices() if self.codes is not None and self.codes is not ETHNICITY else ()
        return Column(self.header, self.key, width=self.width, required=self.required, text=self.kind != "distance",
                      choices=choices, strict=False, note=self.note, also=self.also)


def _text(header: str, key: str, max_length: int, *, also: tuple[str, ...] = (), width: int = 14,
          required: bool = False, note: str = "") -> RosterColumn:
    return RosterColumn(header, key, "text", also, max_length=max_length, width=width, required=required, note=note)


def _flag(header: str, key: str, also: tuple[str, ...] = ()) -> RosterColumn:
    return RosterColumn(header, key, "code", also, codes=YES_NO, width=10, note="是 / 否（或 1 / 0）")


STUDENT_COLUMNS: tuple[RosterColumn, ...] = (
    _text("姓名", "name", 40, also=("学生姓名",), width=10, required=True),
    RosterColumn("性别", "gender", "code", codes=GENDER, required=True, width=6, note="男 / 女（或 1 / 2）"),
    RosterColumn("出生日期", "birth_date", "date", ("出生年月日",), required=True, width=12,
                 note="如 20150315、2015-03-15，或日期格式的单元格"),
    RosterColumn("民族", "ethnicity", "code", codes=ETHNICITY, width=8, note="如 汉族、苗族（或代码 01、06）"),
    RosterColumn("身份证件类型", "id_type", "code", ("证件类型", "身份证件类别"), codes=ID_TYPE, required=True, width=14,
                 note="居民身份证、户口簿……其他（或代码 1–7、Z）"),
    RosterColumn("身份证件号", "id_number", "id", ("身份证件号码", "身份证号", "身份证号码", "证件号码", "证件号"),
                 required=True, width=22, note="18 位，末位可为 X；请保持文本格式。证件类型为“其他”且无证件号时可不填"),
    RosterColumn("全国学籍号", "student_number", "student_number", ("学籍号", "全国学籍号码", "学籍号码"), width=22,
                 note="19 位：G + 身份证件号，或 J、L 开头；不填则按 G + 身份证件号"),
    RosterColumn("年级", "grade", "grade", ("年级名称", "所在年级"), required=True, width=8,
                 note="一年级…九年级，或 1–9，或年级代码 11–16、21–23"),
    RosterColumn("班级", "class", "class", ("班级名称", "所在班级", "班号"), required=True, width=14,
                 note="如 一年级(1)班、1班、(1)班；本校没有的班级会自动新建"),
    RosterColumn("入学年月", "entry_month", "month", ("入学时间", "入学日期"), width=10, note="如 202309"),
    RosterColumn("就读方式", "is_boarding", "code", codes=BOARDING, width=10, note="走读 / 住校（或 1 / 2）"),
    _text("户口所在地", "hukou_place", 200, also=("户籍所在地", "户口所在地行政区划"), width=24),
    RosterColumn("户口性质", "hukou_nature", "code", ("户籍性质",),
                 codes=Codes(names=HUKOU.names, codes=HUKOU.codes, aliases=HUKOU_ALIASES), width=12,
                 note="农业户口 / 非农业户口（或 1 / 2）"),
    _text("现住址", "address", 200, also=("现居住地址", "现居住地", "家庭现住址"), width=28,
          note="含本乡镇村委会名称时，学生的居住村随之确定"),
    RosterColumn("联系电话", "phone", "phone", ("联系方式", "学生联系电话"), max_length=20, width=14),
    RosterColumn("是否留守儿童", "left_behind", "code", ("留守儿童", "留守儿童类型"), codes=LEFT_BEHIND_CODES, width=14,
                 note="非留守儿童 / 单亲留守儿童 / 双亲留守儿童（或 0 / 1 / 2）"),
    _flag("是否进城务工人员随迁子女", "is_migrant", ("进城务工人员随迁子女", "是否随迁子女")),
    _flag("是否孤儿", "is_orphan", ("孤儿",)),
    RosterColumn("残疾类型", "disability", "code", ("残疾人类型",), codes=DISABILITY, width=10,
                 note="无、视力残疾……多重残疾（或代码 1–7）"),
    _flag("是否需要申请资助", "needs_aid", ("需要申请资助",)),
    _flag("是否享受一补", "receives_subsidy", ("享受一补",)),
    RosterColumn("上下学距离", "distance_km", "distance", ("家校距离",), width=10, note="公里，如 2.5"),
)

_MEMBER_FIELDS: tuple[tuple[str, str, str, tuple[str, ...], int], ...] = (
    # (national suffix, FamilyMember field, kind, other suffixes, max length)
    ("姓名", "name", "text", (), 40),
    ("关系", "relation", "relation", ("与学生关系",), 20),
    ("联系电话", "phone", "phone", ("电话", "联系方式"), 20),
    ("是否监护人", "is_guardian", "code", ("监护人",), 0),
    ("身份证件类型", "id_type", "code", ("证件类型",), 0),
    ("身份证件号", "id_number", "id", ("身份证件号码", "身份证号", "身份证号码", "证件号码"), 18),
    ("现住址", "address", "text", ("住址",), 200),
    ("工作单位", "work_unit", "text", ("工作单位名称",), 100),
)
# How national files and provinces name the two members: 成员1姓名, 家庭成员或监护人1姓名, ...
_MEMBER_PREFIXES = ("成员{n}", "家庭成员或监护人{n}", "家庭成员{n}", "监护人{n}", "成员{c}", "家庭成员或监护人{c}",
                    "家庭成员{c}", "监护人{c}")


def _member_columns(n: int) -> tuple[RosterColumn, ...]:
    columns = []
    chinese = "一二"[n - 1]
    for suffix, member_field, kind, other_suffixes, max_length in _MEMBER_FIELDS:
        header = f"成员{n}{suffix}"
        spellings = [p.format(n=n, c=chinese) + s for p in _MEMBER_PREFIXES for s in (suffix, *other_suffixes)]
        codes = YES_NO if member_field == "is_guardian" else ID_TYPE if member_field == "id_type" else None
        columns.append(RosterColumn(
            header, f"family{n}_{member_field}", kind, tuple(s for s in dict.fromkeys(spellings) if s != header),
            codes=codes, max_length=max_length, width=22 if kind == "id" else 14 if kind != "code" else 10,
            note={"relation": "如 父亲、母亲、祖父、祖母", "is_guardian": "是 / 否"}.get(member_field, "")))
    return tuple(columns)


FAMILY_COLUMNS = _member_columns(1) + _member_columns(2)
COLUMNS: tuple[RosterColumn, ...] = STUDENT_COLUMNS + FAMILY_COLUMNS
BY_KEY = {c.key: c for c in COLUMNS}
HEADERS = tuple(c.header for c in COLUMNS)

# The keys that are `students` columns as they are (grade and class become class_id).
STORED_KEYS = tuple(c.key for c in COLUMNS if c.key not in ("grade", "class"))
