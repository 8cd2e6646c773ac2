"""The pupils of the demo townships: about 2,100 a township, with valid ID numbers.

Each school's classes are filled from its catchment villages with the national record's fields:
about 30 % of the children are left behind (留守), some from poor households, most of the
middle school's pupils board, and every child has two family members, the one they live with
first as guardian.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert

from baoxue.platform.demo import DemoContext
from baoxue.tenants.students.idnumbers import make_id_number, student_number_for
from baoxue.tenants.students.models import Student
from baoxue.platform.clock import school_year
from baoxue.tenants.tenancy.demo import MEN, SURNAMES, TownshipPlan, adult_name, phone

_BOYS = ("浩然 子轩 宇航 俊杰 博文 志强 明辉 鹏飞 家豪 天佑 晨阳 思远 宏伟 文涛 鑫磊 睿哲 一凡 梓豪 浩宇 "
         "子墨 雨泽 皓轩 宇轩 承志 嘉乐 锦程 永康 振宇 俊熙 泽宇 明杰 文博 世杰 天宇 子豪 鹏 涛 磊 杰 斌").split()
_GIRLS = ("欣怡 雨涵 梓萱 诗琪 佳慧 婷婷 雪梅 思敏 悦 可馨 雅琳 晓芳 紫嫣 月瑶 若彤 子涵 梦瑶 语嫣 欣然 "
          "雨桐 佳怡 诗涵 一诺 依依 心怡 静怡 馨月 芳 丹 娟 雨萱 思琪 嘉怡 玉洁 美琳 秋月 婉清 艺涵").split()
_GROUPS = "一二三四五六七八九"
# Some pupils were born outside the county (births in the prefecture town or the provincial capital).
_OTHER_REGIONS = ("522701", "522702", "520102", "520111")
_OTHER_NOTES = ("家中兄妹三人，均在校就读", "父亲患病，家庭负担较重", "家距学校较远，步行上学约一小时",
                "家长重视教育，配合学校工作较好", "祖父母年迈，家中劳动力不足")




def _birth_date(rng: random.Random, grade: int) -> date:
    # Children start grade 1 in the September after they turn six: born Sept–Aug.
    year = school_year()  # the demo is always of the school year under way
    start = date(year - 6 - grade, 9, 1)
    end = date(year - 5 - grade, 8, 31)
    return start + timedelta(days=rng.randrange((end - start).days + 1))


def _id_number(rng: random.Random, region: str, birth: date, male: bool, used: set[str]) -> str:
    while True:
        region_code = region if rng.random() < 0.95 else rng.choice(_OTHER_REGIONS)
        # The 17th digit is odd for a boy, even for a girl.
        number = make_id_number(region_code, birth, rng.randrange(500) * 2 + (1 if male else 0))
        if number not in used:
            used.add(number)
            return number


_ETHNICITIES = ("汉族", "苗族", "布依族", "侗族", "水族")
_ETHNICITY_WEIGHTS = (55, 22, 15, 5, 3)
# Where the parents of left-behind children work (the work unit of the national record).
_WORKPLACES = ("广东省东莞市电子厂", "浙江省宁波市服装厂", "福建省晋江市鞋厂", "广东省深圳市建筑工地",
               "江苏省苏州市物流公司", "贵阳市餐馆")
_GRANDPARENTS = ("祖父", "祖母")


def _member(name: str, relation: str, rng: random.Random, *, guardian: bool, address: str,
            work_unit: str = "务农") -> dict[str, Any]:
    return {"name": name, "relation": relation, "phone": phone(rng), "is_guardian": guardian, "id_type": "1",
            "id_number": "", "address": address, "work_unit": work_unit}


def _family(rng: random.Random, surname: str, left_behind: int, address: str) -> tuple[dict[str, Any], ...]:
    """The two family members of the record: whom the child lives with first, as guardian."""
    father = surname + rng.choice(MEN)
    mother = adult_name(rng, False)
    away = rng.choice(_WORKPLACES)
    if left_behind == 2:
        relation = rng.choice(_GRANDPARENTS)
        keeper = surname + rng.choice(MEN) if relation == "祖父" else adult_name(rng, False)
        return (_member(keeper, relation, rng, guardian=True, address=address),
                _member(father, "父亲", rng, guardian=False, address=away, work_unit=away))
    if left_behind == 1:
        if rng.random() < 0.25:
            return (_member(father, "父亲", rng, guardian=True, address=address),
                    _member(mother, "母亲", rng, guardian=False, address=away, work_unit=away))
        return (_member(mother, "母亲", rng, guardian=True, address=address),
                _member(father, "父亲", rng, guardian=False, address=away, work_unit=away))
    first, second = ((father, "父亲"), (mother, "母亲")) if rng.random() < 0.6 else ((mother, "母亲"), (father, "父亲"))
    return (_member(first[0], first[1], rng, guardian=True, address=address),
            _member(second[0], second[1], rng, guardian=False, address=address))


def _flat(n: int, member: dict[str, Any]) -> dict[str, Any]:
    return {f"family{n}_{k}": v for k, v in member.items()}


def _pupil(rng: random.Random, plan: TownshipPlan, grade: int, entry_year: int, village: str, boarding_share: float,
           used: set[str]) -> dict[str, Any]:
    male = rng.random() < 0.52
    surname = rng.choice(SURNAMES)
    birth = _birth_date(rng, grade)
    id_number = _id_number(rng, plan.region, birth, male, used)
    # About 30 % left behind in a rural township, most of them by both parents (DOMAIN.md §9).
    left_behind = 0
    if rng.random() < 0.30:
        left_behind = 2 if rng.random() < 0.6 else 1
    address = f"{plan.name}{village}{rng.choice(_GROUPS)}组{rng.randint(1, 80)}号"
    family = _family(rng, surname, left_behind, address)
    if left_behind:
        note = f"父母均在外务工，随{family[0]['relation']}生活" if left_behind == 2 else \
            f"{family[1]['relation'][0]}亲在外务工，随{family[0]['relation']}生活"
    else:
        note = rng.choice(_OTHER_NOTES) if rng.random() < 0.15 else ""
    poor = rng.random() < 0.08
    if poor:
        note = "；".join(filter(None, [note, "脱贫户，家庭经济困难，享受生活补助"]))
    boarding = rng.random() < boarding_share
    disability = rng.choice("1245") if rng.random() < 0.01 else ""
    return {
        "name": surname + rng.choice(_BOYS if male else _GIRLS),
        "gender": "男" if male else "女",
        "birth_date": birth,
        "ethnicity": rng.choices(_ETHNICITIES, _ETHNICITY_WEIGHTS)[0],
        "id_type": "1",
        "id_number": id_number,
        "student_number": student_number_for(id_number),
        "status": "01",
        "entry_month": f"{entry_year}09",
        "is_boarding": boarding,
        "hukou_place": f"贵州省{plan.county}{plan.name}{village}",
        "hukou_nature": "1" if rng.random() < 0.92 else "2",
        "address": address,
        "phone": family[0]["phone"],
        "left_behind": left_behind,
        "is_migrant": rng.random() < 0.02,
        "is_orphan": rng.random() < 0.004,
        "disability": disability,
        "needs_aid": poor or rng.random() < 0.04,
        "receives_subsidy": poor and boarding,
        "distance_km": round(rng.uniform(0.3, 2.5) if not boarding else rng.uniform(3, 15), 1),
        "family_circumstances": note,
        "is_poor_household": poor,
        **_flat(1, family[0]), **_flat(2, family[1]),
    }


def seed(demo: DemoContext) -> None:
    used_ids: set[str] = set()
    for seeded in demo.state["tenancy"].values():
        plan, tid = seeded.plan, seeded.township.id
        rows = []
        for s in plan.schools:
            # The first village of a primary's catchment is its own and sends most pupils.
            weights = [3 if i == 0 or s.kind == "middle" else 1 for i in range(len(s.catchment))]
            # Most middle-school pupils board; a primary's live close by, a few board at the central one.
            boarding = {"middle": 0.6, "central_primary": 0.1}.get(s.kind, 0.0)
            for school_class in seeded.classes[s.key]:
                for _ in range(demo.rng.randint(*s.size)):
                    v = demo.rng.choices(s.catchment, weights)[0]
                    pupil = _pupil(demo.rng, plan, school_class.grade, school_class.entry_year, plan.villages[v],
                                   boarding, used_ids)
                    rows.append({**pupil, "township_id": tid, "school_id": seeded.schools[s.key].id,
                                 "class_id": school_class.id, "residence_village_id": seeded.villages[v].id})
        # Core executemany: thousands of rows without building ORM objects.
        demo.session.execute(insert(Student.__table__), rows)
