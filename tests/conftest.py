"""Shared fixtures: a migrated SQLite store, small realistic records, a deterministic embedder.

Databases are made the way set-up makes them (``set_up_database``): no engine
creates a SQLite file by itself, and the API refuses to start without one.

The fake embedder hashes character bigrams into a vector: no model, no randomness,
yet texts that share words are close, which is all the engine's own logic needs.
Tests of the real model's behaviour use the converted e5 model instead.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from daoban.ports import PortPicker
from daoban.settings import Settings, load_settings
from index.decision import DecisionPolicy
from knowledge.database import create_database, make_engine, migrate
from knowledge.schema import Bundle, CrossProvinceEntry, DistrictVariant, Fee, Item, Material, Situation
from knowledge.store import KnowledgeStore
from tests.backends import BACKENDS, engine, postgres_database, postgres_url  # noqa: F401  (fixtures)


class HashingEmbedder:
    model_id = "hashing-bigrams-v1"
    dim = 256

    def __init__(self) -> None:
        self.calls: list[int] = []

    def encode(self, texts: list[str], prompt: str) -> np.ndarray:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            grams = [text[i : i + 2] for i in range(max(len(text) - 1, 1))]
            for gram in grams:
                bucket = int(hashlib.md5(gram.encode()).hexdigest(), 16) % self.dim
                out[row, bucket] += 1.0
            out[row] += 0.05  # every text is a little alike, as with real sentence embeddings
            out[row] /= np.linalg.norm(out[row])
        return out


def set_up_database(url: str) -> None:
    """Create and migrate a database as `daoban setup` does (``create_database``, then ``migrate``)."""
    create_database(url)
    database = make_engine(url)
    try:
        migrate(database)
    finally:
        database.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLite file, created empty the way set-up creates it, or a fresh PostgreSQL schema; no schema in either."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'kb.db'}"
        create_database(url)
        return url
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def hashing_embedder() -> HashingEmbedder:
    return HashingEmbedder()


# Bigram-hash cosines run far lower than e5's, so the floors move with the embedder.
HASHING_POLICY = DecisionPolicy(reject_below=0.2, lexical_floor=0.3)


@pytest.fixture
def store(tmp_path: Path) -> KnowledgeStore:
    database = make_engine(f"sqlite:///{tmp_path / 'kb.db'}")
    migrate(database)
    yield KnowledgeStore(database)
    database.dispose()


_ports = PortPicker()
free_port = _ports.free_port  # one picker for the whole session: no port is handed out twice


def isolated_settings(home: Path) -> Settings:
    """Settings for an instance of its own (home, ports, a set-up database); the costly cache (venvs, model) is shared."""
    settings = load_settings(
        home=home, cache_dir=load_settings().cache_dir,
        api_port=free_port(), rasa_port=free_port(), actions_port=free_port(),
    )
    # the URL from a copy: ``sqlalchemy_url`` is cached, and a copy made later with another database_url
    # (``model_copy(update=...)``) would carry the cached SQLite URL along
    set_up_database(settings.model_copy().sqlalchemy_url)
    return settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return isolated_settings(tmp_path / "home")


def make_item(code: str = "T-JZ-001", name: str = "居住证申领", **changes) -> Item:
    data = dict(
        code=code,
        name=name,
        aliases=["办居住证", "暂住证"],
        questions=["外地人怎么办居住证", "办居住证要带什么"],
        domain="居住证",
        item_type="行政确认",
        department="江川市公安局",
        audience=["个人"],
        summary="在居住地居住半年以上的非本市户籍人员申领居住证。",
        conditions="在江川市居住半年以上，有合法稳定就业、合法稳定住所或连续就读之一。",
        materials=[
            Material(name="居民身份证", form="原件", copies=1, skip=["电子证照免提交"]),
            Material(name="近期免冠彩色照片", form="原件", copies=2, required=True),
        ],
        situations=[
            Situation(code="work", name="因务工申领", materials=[Material(name="劳动合同", form="复印件")]),
            Situation(code="study", name="因就学申领", materials=[Material(name="学生证", form="原件和复印件")]),
        ],
        procedure=["提交申请", "窗口受理", "审核制证", "领取证件"],
        statutory_limit_days=15,
        promised_limit_days=7,
        fee=Fee(charged=False, standard="不收费"),
        legal_basis=["《居住证暂行条例》"],
        online_depth="网上预约现场办",
        visits=1,
        districts=[
            DistrictVariant(district="青山区", place="青山区政务服务中心（长宁路88号）", window="公安综合窗口",
                            hours="周一至周五 9:00-17:00", phone="0799-86612345", promised_limit_days=5),
            DistrictVariant(district="临江区", place="临江区政务服务中心（滨江大道12号）", window="3号窗口",
                            hours="周一至周六 9:00-17:00", phone="0799-86654321"),
        ],
        version=1,
        updated_at="2026-10-15T09:00:00+08:00",
    )
    data.update(changes)
    return Item(**data)


@pytest.fixture
def records() -> list:
    residence = make_item()
    id_card = make_item(
        "T-SFZ-003", "居民身份证补领", aliases=["身份证丢了", "补办身份证"],
        questions=["身份证丢了怎么办", "补办身份证要多久"], domain="身份证", situations=[],
        summary="居民身份证丢失后申请补领。", fee=Fee(charged=True, standard="工本费20元"),
    )
    social = make_item(
        "T-SB-002", "社会保障卡挂失补换", aliases=["社保卡丢了", "补办社保卡"],
        questions=["社保卡丢了怎么办", "社保卡坏了能换吗"], domain="社保", situations=[],
        summary="社会保障卡丢失或损坏后挂失并补换新卡。",
    )
    bundle = Bundle(
        code="T-BD-001", name="新生儿出生一件事", life_event="出生", audience=["个人"],
        aliases=["孩子出生要办哪些"], questions=["宝宝刚出生要办什么"],
        summary="出生医学证明、户口登记、医保参保、社保卡申领一次办。",
        item_codes=["T-JZ-001", "T-SB-002"], how_to_apply="在“江川办事”小程序填写一张表单，或到任一政务服务中心综合窗口提交。",
        promised_limit_days=5,
    )
    cross = CrossProvinceEntry(
        code="T-KS-001", name="养老保险关系转移接续", item_code=None, aliases=["社保转移"],
        questions=["社保能转到外省吗"], modes=["全程网办"], scope="全国范围",
        how_to_apply="通过国家社会保险公共服务平台或掌上12333提交转移申请。",
    )
    return [residence, id_card, social, bundle, cross]


@pytest.fixture
def seeded_store(store: KnowledgeStore, records: list) -> KnowledgeStore:
    store.import_records(records, actor="test")
    return store


def frozen_clock() -> float:
    """One instant for the API's rate limits: their windows follow the clock's minutes, so a test's
    requests straddling a minute boundary would start a fresh count half-way (51 argon2-checked logins
    did on a slow run)."""
    return 1_800_000_000.0
