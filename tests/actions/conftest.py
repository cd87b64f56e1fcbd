import pytest
from rasa_sdk import Tracker

from index.engine import RetrievalEngine
from index.live import StaticEngine
from tests.conftest import HASHING_POLICY


@pytest.fixture
def engine_source(hashing_embedder, seeded_store, tmp_path):
    engine = RetrievalEngine(hashing_embedder, HASHING_POLICY, jieba_cache=tmp_path / "jieba")
    engine.load(seeded_store.published(), seeded_store.revision(), seeded_store.content_hash())
    return StaticEngine(engine)


def make_tracker(text: str, intent: str, slots: dict | None = None, entities: list | None = None) -> Tracker:
    return Tracker(
        sender_id="test-sender",
        slots=slots or {},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": entities or []},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
