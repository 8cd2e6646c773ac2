"""The pupils of the demo townships: about 2,100 a township, with valid ID numbers.

Each school's classes are filled from its catchment villages; a quarter of the children are
left behind (留守), some from poor households, all with a guardian and an address.
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


def _pupil(rng: random.Random, plan: TownshipPlan, grade: int, village: str,
           used: set[str]) -> dict[str, Any]:
    male = rng.random() < 0.52
    surname = rng.choice(SURNAMES)
    birth = _birth_date(rng, grade)
    id_number = _id_number(rng, plan.region, birth, male, used)
    left_behind = 0
    if rng.random() < 0.25:
        left_behind = 2 if rng.random() < 0.6 else 1
    # The guardian is whoever the child lives with; a father or grandfather shares the surname.
    if left_behind == 2:
        grandfather = rng.random() < 0.5
        guardian = surname + rng.choice(MEN) if grandfather else adult_name(rng, False)
        note = f"父母均在外务工，随{'祖父' if grandfather else '祖母'}生活"
    elif left_behind == 1:
        father_home = rng.random() < 0.25
        guardian = surname + rng.choice(MEN) if father_home else adult_name(rng, False)
        note = "母亲在外务工，随父亲生活" if father_home else "父亲在外务工，随母亲生活"
    else:
        guardian = surname + rng.choice(MEN) if rng.random() < 0.6 else adult_name(rng, False)
        note = rng.choice(_OTHER_NOTES) if rng.random() < 0.15 else ""
    poor = rng.random() < 0.08
    if poor:
        note = "；".join(filter(None, [note, "脱贫户，家庭经济困难，享受生活补助"]))
    return {
        "name": surname + rng.choice(_BOYS if male else _GIRLS),
        "gender": "男" if male else "女",
        "birth_date": birth,
        "id_type": "1",
        "id_number": id_number,
        "student_number": student_number_for(id_number),
        "status": "01",
        "left_behind": left_behind,
        "guardian_name": guardian,
        "guardian_phone": phone(rng),
        "address": f"{plan.name}{village}{rng.choice(_GROUPS)}组{rng.randint(1, 80)}号",
        "family_circumstances": note,
        "is_poor_household": poor,
    }


def seed(demo: DemoContext) -> None:
    used_ids: set[str] = set()
    for seeded in demo.state["tenancy"].values():
        plan, tid = seeded.plan, seeded.township.id
        rows = []
        for s in plan.schools:
            # The first village of a primary's catchment is its own and sends most pupils.
            weights = [3 if i == 0 or s.kind == "middle" else 1 for i in range(len(s.catchment))]
            for school_class in seeded.classes[s.key]:
                for _ in range(demo.rng.randint(*s.size)):
                    v = demo.rng.choices(s.catchment, weights)[0]
                    pupil = _pupil(demo.rng, plan, school_class.grade, plan.villages[v], used_ids)
                    rows.append({**pupil, "township_id": tid, "school_id": seeded.schools[s.key].id,
                                 "class_id": school_class.id, "residence_village_id": seeded.villages[v].id})
        # Core executemany: thousands of rows without building ORM objects.
        demo.session.execute(insert(Student.__table__), rows)
