"""Which aspect a message's own words ask for (actions/aspects.py), when NLU names none."""

import pytest

from actions.aspects import aspect_of, without_aspect_words


@pytest.mark.parametrize(("text", "aspect"), [
    ("居住证丢了 补办要啥", "materials"),
    ("签注的时候拿啥", "materials"),
    ("办好要多少钱", "fee"),  # the fee is tried before the time
    ("多久能拿到", "time"),
    ("上哪办啊", "place"),
    ("手机上能办不", "online"),
])
def test_everyday_words_name_the_aspect(text, aspect):
    assert aspect_of(text) == aspect


@pytest.mark.parametrize("text", ["落户要啥条件", "需要什么手续", "户口迁过来要什么要求"])
def test_asking_what_it_takes_is_no_list_of_materials(text):
    assert aspect_of(text) is None


def test_a_materials_word_counts_even_next_to_a_condition():
    assert aspect_of("符合条件的要带啥材料") == "materials"


def test_without_aspect_words_keeps_what_else_is_asked():
    assert without_aspect_words("居住证补办要啥").strip() == "居住证补办"
