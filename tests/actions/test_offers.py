"""Reading a typed reply against the bot's choices (actions/offers.py)."""

from hypothesis import given
from hypothesis import strategies as st

from actions.offers import Choice, OfferReader, ordinal, parse_payload
from index.lexicon import Lexicon
from index.tokens import default_stop_words
from index.wording import WordReader

SITUATIONS = [
    Choice("婚生子女随父或随母落户", '/ask_materials{"item_code":"X-HJ-002","situation":"married"}'),
    Choice("非婚生子女落户", '/ask_materials{"item_code":"X-HJ-002","situation":"unmarried"}'),
    Choice("境外出生回国落户", '/ask_materials{"item_code":"X-HJ-002","situation":"abroad"}'),
]
ID_CARD = [Choice("居民身份证首次申领", "/a"), Choice("居民身份证换领", "/b"), Choice("居民身份证补领", "/c")]
HALLS = [Choice(f"{d}政务服务中心", '/inform{"district":"%s"}' % d) for d in ("青山区", "临江区", "东湖区")]
DAYS = [Choice("12月7日（周一）", '/inform{"date":"2026-12-07"}'), Choice("12月8日（周二）", '/inform{"date":"2026-12-08"}')]
PERSON = [Choice("转人工", "/request_human"), Choice("不用了", "/deny")]


def _reader(meaning=None) -> OfferReader:
    return OfferReader(WordReader(Lexicon.load(), default_stop_words()), meaning=meaning)


def _picked(text, choices, meaning=None):
    pick = _reader(meaning).read(text, choices)
    return pick.choice.title if pick else None


def test_numbers_and_ordinals_pick_by_position():
    for text, title in [("2", "非婚生子女落户"), ("２", "非婚生子女落户"), ("第一个", "婚生子女随父或随母落户"),
                        ("选第3项", "境外出生回国落户"), ("最后那个", "境外出生回国落户"), ("倒数第二个", "非婚生子女落户"),
                        ("三", "境外出生回国落户"), ("就第二个吧", "非婚生子女落户")]:
        assert _picked(text, SITUATIONS) == title, text
    assert _picked("4", SITUATIONS) is None and _picked("0", SITUATIONS) is None


@given(st.integers(min_value=1, max_value=9), st.integers(min_value=1, max_value=9))
def test_any_written_position_within_the_offer_is_that_choice(count, position):
    expected = position if position <= count else None
    for text in (str(position), f"第{position}个", f"选{position}"):
        assert ordinal(text, count) == expected


def test_a_word_that_tells_one_choice_from_the_others_picks_it():
    assert _picked("随父落户", SITUATIONS) == "婚生子女随父或随母落户"
    assert _picked("随他爸", SITUATIONS) == "婚生子女随父或随母落户"  # 爸 is 父 in the guide's words
    assert _picked("没结婚生的", SITUATIONS) == "非婚生子女落户"
    assert _picked("补办", ID_CARD) == "居民身份证补领"
    assert _picked("丢了", ID_CARD) == "居民身份证补领"
    assert _picked("过期了", ID_CARD) == "居民身份证换领"
    assert _picked("第一次办", ID_CARD) == "居民身份证首次申领"
    assert _picked("我在东湖那边", HALLS) == "东湖区政务服务中心"


def test_a_new_question_is_not_taken_for_a_choice():
    # 补 is in 补领, but 社保卡 is a thing of its own: this is a question, not a reply
    assert _picked("社保卡补办", ID_CARD) is None
    assert _picked("驾照丢了", ID_CARD) is None
    assert _picked("社保卡补办要什么材料", ID_CARD) is None
    assert _picked("随便", SITUATIONS) is None


def test_days_and_slots_are_left_to_the_form():
    # "下周二" is not this week's 周二 button: only the title or a number picks a day
    assert _picked("下周二", DAYS) is None
    assert _picked("2", DAYS) == "12月8日（周二）"
    assert _picked("12月8日（周二）", DAYS) == "12月8日（周二）"


def test_yes_and_no_answer_a_yes_no_offer():
    assert _picked("好的", PERSON) == "转人工" and _picked("要", PERSON) == "转人工"
    assert _picked("不用了", PERSON) == "不用了" and _picked("算了", PERSON) == "不用了"
    assert _picked("好的", ID_CARD) is None  # not a yes/no offer


def test_closeness_in_meaning_decides_only_a_clear_short_reply():
    close = lambda text, choices: [0.9 if "美国" in text and "境外" in c.title else 0.8 for c in choices]  # noqa: E731
    assert _picked("孩子是在美国生的", SITUATIONS, close) == "境外出生回国落户"
    flat = lambda text, choices: [0.85 for _ in choices]  # noqa: E731
    assert _picked("孩子是在美国生的", SITUATIONS, flat) is None
    assert _picked("孩子在美国生的，" * 5, SITUATIONS, close) is None  # a long message says more than a choice


def test_payloads_are_parsed_and_plain_text_is_not_a_payload():
    assert parse_payload('/ask_materials{"item_code":"X","situation":"s"}') == (
        "ask_materials", {"item_code": "X", "situation": "s"})
    assert parse_payload("/affirm") == ("affirm", {})
    assert parse_payload("居住证怎么办") == ("", {})
    assert parse_payload('/inform{"broken"') == ("", {})
