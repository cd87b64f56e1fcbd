"""Phone numbers and ID numbers: recognised as whole digit runs, masked before anything is stored."""

import pytest

from hall.privacy import (
    contains_id_number,
    find_mobile,
    is_mainland_mobile,
    mask_phone,
    mask_text,
    normalise_phone,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("13812345678", "13812345678"), (" 138 1234 5678 ", "13812345678"), ("138-1234-5678", "13812345678"),
        ("+8613812345678", "13812345678"), ("+86 138 1234 5678", "13812345678"), ("8613812345678", "13812345678"),
        ("008613812345678", "13812345678"), ("１３８１２３４５６７８", "13812345678"), ("0799-86612345", "079986612345"),
    ],
)
def test_normalise_phone(text, expected):
    assert normalise_phone(text) == expected


@pytest.mark.parametrize("number, ok", [
    ("13812345678", True), ("19912345678", True), ("12812345678", False), ("1381234567", False),
    ("138123456789", False), ("079986612345", False), ("", False),
])
def test_is_mainland_mobile(number, ok):
    assert is_mainland_mobile(number) is ok


def test_find_mobile():
    assert find_mobile("我的手机是138 1234 5678，谢谢") == "13812345678"
    assert find_mobile("电话+86-139-0000-1111") == "13900001111"
    assert find_mobile("身份证110101199003071234") is None  # not inside an ID number
    assert find_mobile("订单2138123456789") is None  # nor inside a longer run
    assert find_mobile("没有号码") is None


def test_mask_phone():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138-1234-5678") == "138****5678"


def test_mask_text_masks_mobiles_and_id_numbers_and_keeps_the_rest():
    text = "我叫张三，电话13812345678，身份证号11010119900307123X，备用+86 139-0000-1111。"
    masked = mask_text(text)
    assert masked == "我叫张三，电话138****5678，身份证号110*************3X，备用+86 139****1111。"
    assert "12345678" not in masked and "19900307" not in masked


def test_mask_text_id_numbers():
    assert mask_text("110101199003071234") == "110*************34"
    assert mask_text("证件 110101 19900307 1234 请核对") == "证件 110*************34 请核对"
    assert mask_text("老证110101900307123") == "老证110**********23"  # 15 digits, from before 1999
    assert mask_text("x11010119900307123x") == "x11010119900307123x"  # glued to letters: not an ID


def test_mask_text_never_splits_longer_digit_runs():
    assert mask_text("流水号 123456789012345678901") == "流水号 123456789012345678901"
    assert mask_text("订单213812345678") == "订单213812345678"


def test_mask_text_keeps_chinese_punctuation():
    assert mask_text("好的，谢谢！（没有号码）") == "好的，谢谢！（没有号码）"
    assert mask_text("") == ""


def test_mask_text_never_keeps_more_than_six_characters_of_an_id_number():
    for number in ("11010119900307123X", "110101900307123", "110101 19900307 1234"):
        kept = sum(char.isdigit() or char in "Xx" for char in mask_text(number))
        assert kept <= 6, (number, mask_text(number))


def test_contains_id_number():
    assert contains_id_number("我的身份证是11010119900307123x")
    assert contains_id_number("110101900307123")
    assert not contains_id_number("13812345678")
    assert not contains_id_number("123456789012345678901")
