from datetime import date

import pytest

from baoxue.tenants.students.idnumbers import (
    birth_date_of,
    check_digit,
    gender_of,
    is_valid_id_number,
    make_id_number,
    student_number_for,
)

# Published examples (GB 11643-1999 appendix and common references).
PUBLISHED = ["11010519491231002X", "440524188001010014"]


def test_check_digit_by_hand():
    # 5 2 2 7 2 7 2 0 1 9 0 9 1 5 0 0 1 times the weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2:
    # 35+18+20+35+16+28+4+0+6+27+0+81+10+25+0+0+2 = 307; 307 mod 11 = 10, which maps to "2".
    assert check_digit("52272720190915001") == "2"
    assert is_valid_id_number("522727201909150012")


@pytest.mark.parametrize("number", PUBLISHED)
def test_published_examples_are_valid(number):
    assert is_valid_id_number(number)
    assert check_digit(number[:17]) == number[17]


def test_birth_date_and_gender():
    assert birth_date_of("11010519491231002X") == date(1949, 12, 31)
    assert gender_of("11010519491231002X") == "女"  # 17th digit 2: even
    assert gender_of("440524188001010014") == "男"  # 17th digit 1: odd
    assert birth_date_of("440524188001010014") == date(1880, 1, 1)


def test_lower_case_x_is_accepted():
    assert is_valid_id_number("11010519491231002x")
    assert gender_of("11010519491231002x") == "女"
    assert student_number_for("11010519491231002x") == "G11010519491231002X"


@pytest.mark.parametrize("number", PUBLISHED)
def test_every_wrong_check_character_is_refused(number):
    for wrong in "0123456789X":
        if wrong != number[17]:
            assert not is_valid_id_number(number[:17] + wrong)


def test_a_swapped_pair_of_digits_is_caught():
    assert not is_valid_id_number("11010519491231020X")


@pytest.mark.parametrize("birth", ["20230230", "20231301", "20230001", "20230132", "00000101", "2023AB01"])
def test_impossible_dates_are_refused(birth):
    first17 = f"522727{birth}001"
    # A right check character over a wrong date is still wrong.
    number = first17 + (check_digit(first17) if first17.isdigit() else "0")
    assert not is_valid_id_number(number)
    with pytest.raises(ValueError):
        birth_date_of(number)


@pytest.mark.parametrize("value", [
    "", "11010519491231002", "11010519491231002XX", "1101051949123100X2", "11010519491231002Y",
    "11010519491231002 ", "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits from a Chinese IME
])
def test_malformed_numbers_are_refused(value):
    assert not is_valid_id_number(value)


def test_surrounding_spaces_are_ignored():
    assert is_valid_id_number(" 11010519491231002X\t")


def test_make_id_number_round_trips():
    number = make_id_number("522727", date(2016, 2, 29), 37)
    assert number[:17] == "52272720160229037"
    assert is_valid_id_number(number)
    assert birth_date_of(number) == date(2016, 2, 29)
    assert gender_of(number) == "男"
    assert gender_of(make_id_number("522727", date(2016, 2, 29), 38)) == "女"


@pytest.mark.parametrize("region, sequence", [("52272", 1), ("5227270", 1), ("52272a", 1), ("522727", 1000),
                                               ("522727", -1)])
def test_make_id_number_refuses_bad_parts(region, sequence):
    with pytest.raises(ValueError):
        make_id_number(region, date(2016, 1, 1), sequence)


def test_student_number_is_g_plus_the_id():
    assert student_number_for("522727201909150012") == "G522727201909150012"
    assert len(student_number_for("522727201909150012")) == 19
    with pytest.raises(ValueError):
        student_number_for("522727201909150013")


def test_gender_of_an_invalid_number_raises():
    with pytest.raises(ValueError):
        gender_of("522727201909150013")
