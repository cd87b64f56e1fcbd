"""Every common way of writing a mobile or ID number is masked (property-based, over generated spellings).

A number is generated, then written the way citizens write it: grouped anyhow,
separated by spaces (also U+3000), dashes or dots, mixed, with spaces around a
dash, in full-width digits, behind +86/0086; and put in the middle of Chinese text.
The masked text must keep the surrounding text as it was and show no more of
the number than the visible part (138****5678, 110*************3X).
"""

from __future__ import annotations

import re
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from hall.privacy import contains_id_number, find_mobile, mask_text

FAST = settings(max_examples=200, deadline=None)

DIGIT = "0123456789"
TO_FULL_WIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")
TO_ASCII = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789Xx")
SPACES = [" ", "\u3000", "  ", "\u00a0"]
MARKS = ["-", "－", "—", "–", ".", "．", "·"]
AROUND_MARK = ["", "", " ", "\u3000"]
PREFIXES = ["", "+86", "86", "0086", "+86 ", "+86-", "0086 ", "+86 - ", "(+86)", "（+86）", "＋８６ ", "００８６－"]
CHINESE = "我的电话身份证号码是请帮忙核对一下谢谢办理居住证社保卡预约青山区政务服务中心，。！？：；、（）“”《》 "
# the groupings people use, besides any grouping at all
USUAL_GROUPS = {
    11: [(3, 4, 4), (3, 3, 5), (3, 8), (4, 4, 3)],
    15: [(6, 6, 3), (3, 3, 3, 3, 3)],
    18: [(6, 8, 4), (4, 4, 4, 4, 2), (6, 4, 4, 4), (3, 3, 4, 4, 4), (6, 8, 3, 1), (6, 4, 4, 3, 1)],
}
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def digits(count: int) -> st.SearchStrategy[str]:
    return st.text(DIGIT, min_size=count, max_size=count)


def mobiles() -> st.SearchStrategy[str]:
    return st.builds(lambda second, rest: f"1{second}{rest}", st.sampled_from("3456789"), digits(9))


def _check_character(first17: str) -> str:
    """The real ISO 7064 check character, so that an X turns up as often as it does on real cards."""
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS)) % 11]


def id_numbers() -> st.SearchStrategy[str]:
    """18-character numbers with a real area digit, birthday and check character; and old 15-digit ones."""
    area = st.builds(lambda first, rest: f"{first}{rest}", st.sampled_from("12345678"), digits(5))
    new = st.builds(
        lambda a, born, seq: a + born.strftime("%Y%m%d") + seq,
        area, st.dates(date(1900, 1, 1), date(2026, 12, 31)), digits(3),
    ).map(lambda first17: first17 + _check_character(first17))
    old = st.builds(lambda a, born, seq: a + born.strftime("%y%m%d") + seq,
                    area, st.dates(date(1900, 1, 1), date(1999, 12, 31)), digits(3))
    return st.one_of(new, old)


@st.composite
def spelled(draw: st.DrawFn, number: str) -> str:
    """The number as a citizen might type it: any grouping, mixed separators, full-width digits, x or X."""
    usual = [_cuts(sizes) for sizes in USUAL_GROUPS[len(number)]]
    cuts = draw(st.one_of(st.sampled_from(usual), st.sets(st.integers(1, len(number) - 1))))
    width = draw(st.sampled_from(["ascii", "full", "mixed"]))
    size = len(number)
    full = draw(st.lists(st.booleans(), min_size=size, max_size=size)) if width == "mixed" else [width == "full"] * size
    separators = draw(st.lists(_separators(), min_size=len(cuts), max_size=len(cuts)))
    if number.endswith("X"):
        number = number[:-1] + draw(st.sampled_from("Xx"))
    text = ""
    for index, char in enumerate(number):
        if index in cuts:
            text += separators.pop()
        text += char.translate(TO_FULL_WIDTH) if full[index] else char
    return text


def _cuts(sizes: tuple[int, ...]) -> set[int]:
    return {sum(sizes[:index]) for index in range(1, len(sizes))}


def _separators() -> st.SearchStrategy[str]:
    marked = st.builds(lambda before, mark, after: before + mark + after,
                       st.sampled_from(AROUND_MARK), st.sampled_from(MARKS), st.sampled_from(AROUND_MARK))
    return st.one_of(st.sampled_from(SPACES), marked)


def chinese(min_size: int = 0, spaces: bool = True) -> st.SearchStrategy[str]:
    alphabet = CHINESE if spaces else CHINESE.replace(" ", "")
    return st.text(st.sampled_from(alphabet), min_size=min_size, max_size=12)


def expected_mask(number: str, written: str) -> str:
    if len(number) == 11:
        return f"{number[:3]}****{number[-4:]}"
    last = written.translate(TO_ASCII)[-1]  # an X keeps the case it was typed in
    return f"{number[:3]}{'*' * (len(number) - 5)}{number[-2]}{last}"


def longest_shown_run(number: str, masked: str) -> int:
    """The longest piece of the number (in order, separators ignored) still readable in the masked text."""
    shown = re.sub(r"[\s\-－—–.．·]", "", masked.translate(TO_ASCII)).upper()
    return max((size for size in range(1, len(number) + 1)
                for start in range(len(number) - size + 1) if number[start:start + size] in shown), default=0)


def shown_digits(masked: str) -> int:
    return sum(char in DIGIT + "Xx" for char in masked.translate(TO_ASCII))


@FAST
@given(data=st.data(), number=mobiles(), before=chinese(), after=chinese())
def test_every_spelling_of_a_mobile_is_masked_and_the_text_around_it_kept(data, number, before, after):
    prefix = data.draw(st.sampled_from(PREFIXES))
    written = data.draw(spelled(number))
    masked = mask_text(before + prefix + written + after)
    assert masked.startswith(before + prefix) and masked.endswith(after), masked
    shown = masked[len(before + prefix):len(masked) - len(after)]
    assert longest_shown_run(number, shown) <= 4 and shown_digits(shown) <= 7, (written, shown)
    assert shown == expected_mask(number, written), (written, masked)
    assert find_mobile(before + prefix + written + after) == number


@FAST
@given(data=st.data(), number=id_numbers(), before=chinese(), after=chinese())
def test_every_spelling_of_an_id_number_is_masked_and_the_text_around_it_kept(data, number, before, after):
    written = data.draw(spelled(number))
    masked = mask_text(before + written + after)
    assert masked.startswith(before) and masked.endswith(after), masked
    shown = masked[len(before):len(masked) - len(after)]
    assert longest_shown_run(number.upper(), shown) <= 3 and shown_digits(shown) <= 5, (written, shown)
    assert shown == expected_mask(number, written), (written, masked)
    assert contains_id_number(before + written + after)


@settings(max_examples=100, deadline=None)  # several numbers an example: as many spellings as the others
@given(data=st.data(), numbers=st.lists(st.one_of(mobiles(), id_numbers()), min_size=2, max_size=4))
def test_numbers_next_to_each_other_are_all_masked(data, numbers):
    """Joined by nothing but a space or a dash, each number is still masked whole."""
    joiners = [data.draw(st.one_of(chinese(min_size=1), _separators())) for _ in numbers]
    text = "".join(joiner + data.draw(spelled(number)) for joiner, number in zip(joiners, numbers))
    masked = mask_text(text)
    for number in numbers:
        assert number.upper() not in re.sub(r"[^0-9X]", "", masked.translate(TO_ASCII).upper()), (text, masked)
    assert not re.search(r"[0-9Xx]{8}", re.sub(r"[\s\-－—–.．·]", "", masked.translate(TO_ASCII))), (text, masked)


@FAST
@given(run=digits(12), number=st.one_of(mobiles(), id_numbers()).filter(lambda number: "X" not in number),
       cut=st.integers(0, 12), word=chinese())
def test_a_number_glued_inside_a_longer_digit_run_is_not_one(run, number, cut, word):
    """A bank card or an order number is left whole: a number is never read out of the middle of one."""
    glued = "9" + run[:cut] + number + run[cut:]
    assert mask_text(word + glued + word) == word + glued + word
    assert find_mobile(glued) is None and not contains_id_number(glued)


def _ordinary_tokens() -> st.SearchStrategy[str]:
    """Numbers that are no one's: dates, times, amounts, counts, the hall's own telephone."""
    day = st.dates(date(1990, 1, 1), date(2030, 12, 31))
    clock = st.builds(lambda h, m, colon: f"{h:02d}{colon}{m:02d}", st.integers(0, 23), st.integers(0, 59),
                      st.sampled_from(":："))
    return st.one_of(
        st.builds(lambda d, form: d.strftime(form), day,
                  st.sampled_from(["%Y-%m-%d", "%Y.%m.%d", "%Y/%m/%d", "%Y年%m月%d日", "%m-%d", "%Y%m%d"])),
        st.builds(lambda a, b: f"{a:%Y-%m-%d} - {b:%Y-%m-%d}", day, day),
        st.builds(lambda d, c: f"{d:%Y-%m-%d} {c}", day, clock),
        clock,
        st.builds(lambda a, b: f"{a}-{b}", clock, clock),
        st.builds(lambda n, form: form.format(n), st.integers(0, 99999),
                  st.sampled_from(["{}元", "¥{}", "{}.50元", "{:,}元", "{}", "第{}号", "{}人"])),
        st.builds(lambda area, local: f"0{area}-{local}", digits(3), digits(8)),
        st.sampled_from(["12345", "12315", "110", "2026", "10:30", "200元"]),
    )


@FAST
@given(tokens=st.lists(_ordinary_tokens(), min_size=1, max_size=5),
       fill=st.lists(chinese(min_size=1, spaces=False), min_size=6, max_size=6))
def test_dates_times_amounts_and_short_numbers_are_left_alone(tokens, fill):
    """Each between words, as in a real message: none of them is masked, found or taken for an ID."""
    text = "".join(word + token for word, token in zip(fill, tokens)) + fill[-1]
    assert mask_text(text) == text
    assert find_mobile(text) is None and not contains_id_number(text)
