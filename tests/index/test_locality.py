"""Where a citizen's 户口 is, read against the base's own places (index/locality.py)."""

from index.families import Families, Named
from index.lexicon import Lexicon
from index.locality import Locality, home_names
from index.tokens import default_stop_words
from index.wording import WordReader
from tests.conftest import make_item


def _changchun() -> Locality:
    item = make_item(department="长春市公安局", districts=[
        {"district": "朝阳区", "place": "朝阳区政务服务中心", "hours": "9:00-17:00", "phone": "0431-1"},
        {"district": "南关区", "place": "南关区政务服务中心", "hours": "9:00-17:00", "phone": "0431-2"},
    ])
    return Locality(home_names([item]))


def test_the_base_s_own_places_are_home():
    home = home_names([make_item(department="长春市公安局")])
    assert {"长春", "青山区", "青山"} <= home


def test_a_question_says_whether_its_hukou_is_here_or_elsewhere():
    where = _changchun()
    assert where.of_question("长春本地户口，身份证丢了") == "here"
    assert where.of_question("户口就在南关，上哪补去") == "here"
    assert where.of_question("我是长春户口") == "here"
    assert where.of_question("我是山东户口，在长春读研") == "elsewhere"
    assert where.of_question("我户口在白山，在长春住了七八年") == "elsewhere"
    assert where.of_question("外地户口能办吗") == "elsewhere"
    assert where.of_question("在老家给爸妈买了套房") is None  # where a house is, not where one is registered
    assert where.of_question("身份证到期了") is None
    assert where.of_question("农村户口能办吗") is None


def test_guides_for_the_other_case_are_no_rivals():
    families = Families(WordReader(Lexicon.load(), default_stop_words()))
    ranked = [Named("ELSE", "丢失异地补领居民身份证", 0.75), Named("HERE", "丢失补领居民身份证", 0.74)]
    assert families.read("长春本地户口，身份证丢了补办", ranked, locality=_changchun()).chosen.code == "HERE"
    assert families.read("我是山东户口，身份证丢了", list(reversed(ranked)),
                         locality=_changchun()).chosen.code == "ELSE"
    assert Locality.of_name("残疾人证换领（居住地申请）") == "elsewhere" and Locality.of_name("户籍地申请") == "here"
