import pytest

from index.spelling import QueryRewriter
from index.tokens import ChineseTokenizer

TERMS = ["身份证", "社保卡", "住房公积金提取", "人事档案转递", "不动产交易契税申报", "护照", "最低生活保障（低保）",
         "无犯罪记录证明", "信息公示", "户口登记", "提供"]
KNOWN = ["身份证", "办理", "app", "人社", "区人社"]


@pytest.fixture(scope="module")
def tokenizer() -> ChineseTokenizer:
    return ChineseTokenizer(TERMS)


@pytest.fixture(scope="module")
def rewriter(tokenizer: ChineseTokenizer) -> QueryRewriter:
    return QueryRewriter(tokenizer.user_words, KNOWN, tokenizer.word_weight)


@pytest.mark.parametrize(("asked", "searched"), [
    ("底保怎么申请", "低保怎么申请"),  # a term in brackets is a term
    ("大学毕业挡案寄回来了", "大学毕业档案寄回来了"),  # a dictionary word inside a term
    ("社宝卡第一次申领", "社保卡第一次申领"),
    ("户照丢了", "护照丢了"),
    ("买房的汽税", "买房的契税"),
    ("身分证到期了", "身份证到期了"),  # 身分证 is in jieba's dictionary, but 30 times rarer than 身份证
    ("户口登计错了", "户口登记错了"),
])
def test_a_homophone_slip_becomes_the_base_s_word(rewriter, asked, searched):
    rewrite = rewriter.rewrite(asked)
    assert rewrite.text == searched
    assert len(rewrite.replaced) == 1


def test_initials_become_the_word_they_spell(rewriter):
    assert rewriter.rewrite("sfz到期").text == "身份证到期"
    assert rewriter.rewrite("退休了GJJ怎么取").text == "退休了公积金怎么取"
    assert rewriter.rewrite("wfz证明").replaced == (("wfz", "无犯罪记录证明"),)


@pytest.mark.parametrize("asked", [
    "公式怎么算",  # a common word, though it sounds like the base's 公示
    "要先在网上约吗",  # 先在 sounds like 现在, which is no term of the base
    "提公积金要什么",  # 提公 sounds like the term 提供, but its 公 belongs to 公积金
    "要不要去人社登记",  # 区人社 is a word of the base's documents, not a term
    "我想问一下结婚要带什么东西",
    "app上能办吗",  # a Latin token the base itself uses
    "xyz",  # initials of nothing in the base
    "gj",  # two letters stand for too many words
])
def test_real_words_and_unknown_letters_are_left_alone(rewriter, asked):
    rewrite = rewriter.rewrite(asked)
    assert rewrite.text == asked
    assert rewrite.replaced == ()


def test_two_equally_likely_corrections_leave_the_question_alone():
    ambiguous = QueryRewriter(["社保", "社报"], [], lambda word: 1 if word in ("社保", "社报") else 0)
    assert ambiguous.rewrite("社宝").text == "社宝"


def test_terms_learnt_later_are_used(tokenizer):
    rewriter = QueryRewriter(["身份证"], [], tokenizer.word_weight)
    assert rewriter.rewrite("惠民宝参保").text == "惠民宝参保"
    rewriter.extend(["惠民保"])
    assert rewriter.rewrite("惠民宝参保").text == "惠民保参保"


def test_a_numeral_is_never_taken_for_a_slip(tokenizer):
    rewriter = QueryRewriter(["异地就医备案"], [], tokenizer.word_weight)
    assert rewriter.rewrite("异地就衣备案").text == "异地就医备案"
    assert rewriter.rewrite("一个月就一千多块钱").text == "一个月就一千多块钱"


def test_initials_that_begin_several_terms_alike_take_the_shortest(tokenizer):
    rewriter = QueryRewriter(["无犯罪记录证明开具", "无犯罪证明"], [], tokenizer.word_weight)
    assert rewriter.rewrite("wfz").text == "无犯罪证明"
    different = QueryRewriter(["身份证明", "收费站点"], [], lambda word: 100)  # sfz begins both, as 身份证 and 收费站
    assert different.rewrite("sfz").text == "sfz"


def test_a_term_lends_only_the_words_it_is_made_of(tokenizer):
    rewriter = QueryRewriter(["临江街道学校"], [], tokenizer.word_weight)
    assert rewriter.rewrite("迁户口到学校要户口本不").text == "迁户口到学校要户口本不"  # 到学 is no slip of 道学
