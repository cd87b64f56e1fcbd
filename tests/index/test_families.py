"""Families of items (index/families.py) and the words that tell their members apart (index/wording.py)."""

from index.families import Families, Named, family_of, stem
from index.lexicon import Lexicon
from index.tokens import default_stop_words
from index.wording import WordReader


def _families() -> Families:
    return Families(WordReader(Lexicon.load(), default_stop_words()))


EXTRACTION = [
    Named("F-1", "住房公积金提取（租房）", 1.25), Named("F-2", "住房公积金提取（购房）", 1.13),
    Named("F-4", "住房公积金提取（偿还住房贷款）", 1.03), Named("F-3", "住房公积金提取（退休销户）", 0.96),
    Named("X-9", "灵活就业人员自愿缴存住房公积金", 0.85),
]


def test_a_stem_makes_a_family_only_when_it_tells_something():
    assert stem("住房公积金提取（租房）", "住房公积金提取（购房）") == "住房公积金提取"
    assert stem("个体工商户设立登记", "有限责任公司设立登记") == "设立登记"
    assert stem("居住证申领", "居住证签注") == "居住证"
    assert stem("个体工商户设立登记", "社会团体成立登记") == ""  # 立登记: only a generic word and a character
    assert stem("居住证申领", "居住登记") == ""
    # the family is everything about 住房公积金; how close each ranks decides whom a question is asked about
    assert [n.code for n in family_of(EXTRACTION[0], EXTRACTION[1:])] == ["F-2", "F-4", "F-3", "X-9"]


def test_a_question_that_names_the_family_but_not_the_member_is_asked():
    rivals = _families().rivals("公积金怎么提取", EXTRACTION)
    assert [n.code for n in rivals] == ["F-1", "F-2", "F-4", "F-3"]


def test_a_question_that_says_which_member_is_answered():
    assert _families().rivals("我在租房住，公积金怎么提取", EXTRACTION) == []
    # an editor's own phrasing of the first member, contained in the question, settles it too
    assert _families().rivals("公积金怎么提取", EXTRACTION, matched_own=True) == []


def test_members_far_behind_the_first_are_no_rivals():
    far = [EXTRACTION[0], Named("F-2", "住房公积金提取（购房）", 1.0)]
    assert _families().rivals("公积金怎么提取", far) == []


def test_what_every_name_has_tells_none_apart():
    words = WordReader(Lexicon.load(), default_stop_words())
    names = ["居民身份证首次申领", "居民身份证换领", "临时居民身份证申领", "居民身份证补领"]
    assert words.favours("临江区换领身份证几点开门", names) == 1  # 临 of 临江区 is no vote for 临时
    assert words.favours("身份证", names) is None


def test_a_short_reply_picks_a_name_only_when_little_of_it_is_left_unexplained():
    words = WordReader(Lexicon.load(), default_stop_words())
    names = ["居民身份证首次申领", "居民身份证换领", "居民身份证补领"]
    assert words.pick("那补办呢", names) == 2
    assert words.pick("社保卡补办呢", names) is None
    assert words.favours("我身份证丢了在外地，想问问怎么补一张", names) == 2  # a question may say more


def test_an_age_told_picks_the_situation_whose_bound_admits_it():
    from index.wording import by_age, said_age

    under_over = ["未满16周岁首次申领", "年满16周岁首次申领"]
    assert said_age("娃才14岁") == 14 and said_age("孩子十五岁了") == 15 and said_age("没说年纪") is None
    assert by_age("娃才14岁", under_over) == 0 and by_age("满16岁了", under_over) == 1
    assert by_age("孩子才8岁", ["18岁以上人员申领", "父母代18岁以下未成年子女申领"]) == 1
    assert by_age("我30岁", ["因务工申领", "因就学申领"]) is None  # no bounds to read


def test_between_a_name_and_its_denial_the_reply_s_own_denial_decides():
    words = WordReader(Lexicon.load(), default_stop_words())
    names = ["往届大中专毕业生户口迁入", "已落实就业单位大中专毕业生户口迁入", "未落实就业单位大中专毕业生户口迁入"]
    assert words.favours("工作已经签了 单位定下来了", names) == 1
    assert words.favours("我同学还没找着工作", names) == 2
    assert words.favours("还没想好", names) is None  # a denial of nothing the pair is about
    assert words.favours("大学毕业了 想把户口落长春", names) is None  # 毕业 and 户口: what both are about
    assert words.favours("没有单位", ["因务工申领", "因就学申领"]) is None  # no pair to decide between
    assert words.favours("不是本地的", ["本地户口办理", "非本地户口办理"]) == 1


def test_who_a_follow_up_swaps_keeps_what_is_done():
    from index.families import swaps_subject

    assert swaps_subject("个体工商户变更登记", {"企业"}, "企业变更登记")
    assert not swaps_subject("个体工商户变更登记", {"企业"}, "个体工商户转型为企业")
    assert not swaps_subject("个体工商户变更登记", {"补办"}, "企业变更登记")
