"""Searching inside one guide (index/passages.py): the sentences that answer a follow-up, or none."""

import numpy as np

from index.lexicon import Lexicon
from index.passages import GuideSearch, passages_of
from index.tokens import ChineseTokenizer
from tests.conftest import make_item


def _search(encode=None) -> GuideSearch:
    tokenizer = ChineseTokenizer()
    return GuideSearch(tokenizer.content_words, Lexicon.load(), encode)


def test_a_guide_is_cut_into_labelled_sentences_of_every_part():
    labels = [p.label for p in passages_of(make_item())]
    assert "受理条件" in labels and "办理流程第2步" in labels and "设定依据" in labels
    assert "申请材料「居民身份证」" in labels and "情形「因就学申领」的材料「学生证」" in labels
    assert "青山区办理地点" in labels


def test_the_sentence_with_the_question_s_telling_words_is_found():
    item = make_item(conditions="在江川市居住半年以上。本人确有困难的，可委托他人代办。")
    found = _search().search("能找人代办吗", passages_of(item), ignore=item.name)
    assert found and found[0].passage.text == "本人确有困难的，可委托他人代办。"


def test_the_guide_s_own_name_tells_nothing_and_an_unrelated_question_finds_nothing():
    item = make_item()
    assert _search().search("居住证申领", passages_of(item), ignore=item.name) == []
    assert _search().search("附近能停车吗", passages_of(item), ignore=item.name) == []


def test_closeness_in_meaning_lifts_a_sentence_the_words_alone_miss():
    item = make_item(conditions="在江川市居住半年以上。持证满一年的须签注。")
    passages = passages_of(item)
    target = next(i for i, p in enumerate(passages) if p.text == "持证满一年的须签注。")

    def encode(texts, prompt):  # the question is close to one sentence only
        vectors = np.zeros((len(texts), 2), dtype=np.float32)
        vectors[:, 1] = 1.0
        if prompt == "query":
            vectors[:] = [1.0, 0.0]
        elif prompt == "passage":
            vectors[target] = [1.0, 0.0]
        return vectors

    question = "要定期去弄吗"
    assert _search().search(question, passages, ignore=item.name) == []
    found = _search(encode).search(question, passages, ignore=item.name)
    assert found and found[0].passage.text == "持证满一年的须签注。"


def test_the_citizen_s_words_for_the_guide_s_name_tell_nothing_either():
    item = make_item(name="居住证遗失补领", conditions="居住证遗失的，原证件持有人应当到居住地公安派出所办理补领手续。")
    passages = passages_of(item)
    # 丢了 is the citizen's 遗失, 补办 their 补领: the question only names the guide, so no sentence answers it
    assert _search().search("居住证丢了 补办一下", passages, ignore=item.name) == []
    # what it asks beyond the name is still looked up
    found = _search().search("居住证丢了 能让别人去派出所办吗", passages, ignore=item.name)
    assert found and "派出所" in found[0].passage.text
