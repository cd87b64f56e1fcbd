"""Phone numbers and ID numbers: recognised as whole digit runs, masked before anything is stored."""

import re

import pytest

from hall.privacy import (
    contains_id_number,
    find_mobile,
    is_mainland_mobile,
    mask_phone,
    mask_text,
    normalise_phone,
)

_ASCII = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789Xx")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("13812345678", "13812345678"), (" 138 1234 5678 ", "13812345678"), ("138-1234-5678", "13812345678"),
        ("+8613812345678", "13812345678"), ("+86 138 1234 5678", "13812345678"), ("8613812345678", "13812345678"),
        ("008613812345678", "13812345678"), ("１３８１２３４５６７８", "13812345678"), ("0799-86612345", "079986612345"),
        ("138.1234.5678", "13812345678"), ("138 - 1234 - 5678", "13812345678"), ("138\u30001234\u30005678", "13812345678"),
        ("＋８６ １３８－１２３４－５６７８", "13812345678"), ("138—1234·5678", "13812345678"),
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
    assert find_mobile("手机138.1234.5678") == "13812345678"
    assert find_mobile("身份证110101 19900307 1234") is None  # an ID number in groups is still not a phone


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


@pytest.mark.parametrize("text", [
    "身份证１１０１０１\u3000１９９００３０７\u3000１２３Ｘ",  # full-width digits and spaces
    "身份证110101\u300019900307\u30001234", "身份证110101.19900307.1234", "身份证1101 0119 9003 0712 34",
    "身份证110101 1990 0307 1234", "身份证110101-1990-0307-1234", "身份证 110101 - 19900307 - 1234 。",
    "身份证1101.0119 9003-0712 3X", "身份证110101199003071 23X", "身份证11010119900307123 X",
])
def test_mask_text_masks_every_spelling_of_an_id_number(text):
    masked = mask_text(text)
    assert masked.startswith("身份证") and "*" * 13 in masked, masked
    assert re.sub(r"[^0-9Xx]", "", masked.translate(_ASCII)) in ("11034", "1103X"), masked


@pytest.mark.parametrize("text, expected", [
    ("电话138.1234.5678", "电话138****5678"), ("电话138 - 1234 - 5678", "电话138****5678"),
    ("电话１３８\u3000１２３４\u3000５６７８", "电话138****5678"), ("电话138.1234 5678", "电话138****5678"),
    ("电话1 3 8 1 2 3 4 5 6 7 8", "电话138****5678"), ("电话138–1234–5678", "电话138****5678"),
    ("电话0086-138-1234-5678", "电话0086-138****5678"), ("电话+86 138 1234 5678", "电话+86 138****5678"),
    ("电话（+86）138.1234.5678", "电话（+86）138****5678"), ("电话＋８６１３８１２３４５６７８", "电话＋８６138****5678"),
    ("电话+13812345678", "电话+138****5678"), ("tel13812345678x", "tel138****5678x"),
])
def test_mask_text_masks_every_spelling_of_a_mobile(text, expected):
    assert mask_text(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("2026-12-03 138 1234 5678", "2026-12-03 138****5678"),  # a date just before does not hide the phone
    ("共2 138 1234 5678", "共2 138****5678"),
    ("13812345678 13912345678", "138****5678 139****5678"),
    ("110101199003071234 13812345678", "110*************34 138****5678"),
    ("110101 19900307 1234-139 0000 1111", "110*************34-139****1111"),
])
def test_mask_text_masks_numbers_next_to_other_numbers(text, expected):
    assert mask_text(text) == expected


@pytest.mark.parametrize("text", [
    "预约2026-12-03上午", "2026.12.03", "2026/12/03", "2026年12月3日", "20261203", "10:30", "10：30", "09:00-10:00",
    "2026-12-03 10:30", "2026-12-03 - 2026-12-10", "收费200元", "¥1,200.50", "第3窗口", "排队号 A123", "还有12人",
    "热线12345", "电话0799-86612345", "0799 8661 2345", "出生于1990年3月7日", "邮编330000", "1381234567",  # 10 digits
    "银行卡6222 0213 8123 4567 890", "银行卡6222021381234567890", "第２窗口",
])
def test_mask_text_leaves_dates_times_amounts_and_short_numbers_alone(text):
    assert mask_text(text) == text
    assert find_mobile(text) is None and not contains_id_number(text)


def test_mask_text_leaves_the_text_around_a_number_as_written():
    assert mask_text("Ｘ先生，电话－１３８－１２３４－５６７８－，好的") == "Ｘ先生，电话－138****5678－，好的"


def test_mask_text_never_keeps_more_than_six_characters_of_an_id_number():
    for number in ("11010119900307123X", "110101900307123", "110101 19900307 1234", "１１０１０１．１９９０．０３０７．１２３ｘ"):
        kept = sum(char.isdigit() or char in "Xx" for char in mask_text(number))
        assert kept <= 6, (number, mask_text(number))


def test_contains_id_number():
    assert contains_id_number("我的身份证是11010119900307123x")
    assert contains_id_number("110101900307123")
    assert not contains_id_number("13812345678")
    assert not contains_id_number("123456789012345678901")
