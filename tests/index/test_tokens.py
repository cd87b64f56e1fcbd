from index.tokens import ChineseTokenizer


def test_user_words_from_the_knowledge_base_stay_whole():
    plain = ChineseTokenizer(char_bigrams=False)
    taught = ChineseTokenizer(["灵活就业人员参保登记"], char_bigrams=False)
    assert "灵活就业人员参保登记" not in plain.tokens("灵活就业人员参保登记怎么弄")
    assert "灵活就业人员参保登记" in taught.tokens("灵活就业人员参保登记怎么弄")


def test_tokenizers_do_not_share_dictionaries():
    ChineseTokenizer(["青山区长宁路"], char_bigrams=False)
    other = ChineseTokenizer(char_bigrams=False)
    assert "青山区长宁路" not in other.tokens("青山区长宁路")


def test_stop_and_aspect_words_add_no_tokens():
    tokenizer = ChineseTokenizer()
    tokens = tokenizer.tokens("办理居住证需要什么材料？")
    assert "居住证" in tokens
    assert not {"需要", "什么", "材料", "材料#2", "什么#2"} & set(tokens)


def test_words_added_later_are_recognised():
    tokenizer = ChineseTokenizer(char_bigrams=False)
    tokenizer.add_words(["惠民保参保"])
    assert "惠民保参保" in tokenizer.tokens("惠民保参保")


def test_pinyin_bigrams_let_a_homophone_slip_share_tokens():
    tokenizer = ChineseTokenizer(pinyin_bigrams=True)
    slip, right = set(tokenizer.tokens("身分证丢了")), set(tokenizer.tokens("身份证丢失"))
    assert {"shenfen#py", "fenzheng#py"} <= slip & right
    assert not any(t.endswith("#py") for t in ChineseTokenizer().tokens("身分证丢了"))
