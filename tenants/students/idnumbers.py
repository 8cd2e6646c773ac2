"""National ID numbers (居民身份证号, GB 11643-1999) and the 全国学籍号 built on them.

An 18-character number: a 6-digit region code, the birth date YYYYMMDD, a 3-digit sequence
whose last digit is odd for men and even for women, and an ISO 7064 MOD 11-2 check character.
The census is matched against rosters by this number (DOMAIN.md §8), so a typo must be caught
at the door rather than surface later as a child "enrolled nowhere".
"""

from __future__ import annotations

from datetime import date

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"  # indexed by (weighted sum mod 11)


def check_digit(first17: str) -> str:
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("the first 17 characters of an ID number must be digits")
    return CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def normalise_id_number(s: str) -> str:
    """Trimmed and with an upper-case X: forms and spreadsheets often carry a lower-case x."""
    return s.strip().upper()


def is_valid_id_number(s: str) -> bool:
    s = normalise_id_number(s)
    if len(s) != 18 or not s[:17].isascii() or not s[:17].isdigit() or s[17] not in "0123456789X":
        return False
    try:
        _date_in(s)
    except ValueError:
        return False
    return check_digit(s[:17]) == s[17]


def birth_date_of(s: str) -> date:
    s = normalise_id_number(s)
    if not is_valid_id_number(s):
        raise ValueError(f"not a valid ID number: {s!r}")
    return _date_in(s)


def gender_of(s: str) -> str:
    s = normalise_id_number(s)
    if not is_valid_id_number(s):
        raise ValueError(f"not a valid ID number: {s!r}")
    return "男" if int(s[16]) % 2 == 1 else "女"


def make_id_number(region6: str, birth: date, sequence3: int) -> str:
    if len(region6) != 6 or not region6.isdigit():
        raise ValueError("the region code has 6 digits")
    if not 0 <= sequence3 <= 999:
        raise ValueError("the sequence number has 3 digits")
    first17 = f"{region6}{birth:%Y%m%d}{sequence3:03d}"
    return first17 + check_digit(first17)


def student_number_for(id_number: str) -> str:
    """The 全国学籍号 of a child with a usable ID: "G" followed by the ID number."""
    id_number = normalise_id_number(id_number)
    if not is_valid_id_number(id_number):
        raise ValueError(f"not a valid ID number: {id_number!r}")
    return "G" + id_number


def _date_in(s: str) -> date:
    # date() rejects 20230230, month 13 and year 0000; no plausibility window on purpose,
    # since "too old" or "in the future" depends on a clock and is the caller's question.
    return date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
