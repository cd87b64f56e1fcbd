"""The live engine keeps answering from what it loaded while the database is away, and catches up after."""

from __future__ import annotations

from index.engine import RetrievalEngine
from index.live import LiveEngine
from tests.conftest import HASHING_POLICY


class Once:
    """A change signal that fires when told to, once."""

    def __init__(self) -> None:
        self.pending = False

    def should_sync(self) -> bool:
        fired, self.pending = self.pending, False
        return fired


def test_an_edit_signalled_while_the_database_is_away_is_applied_when_it_is_back(
        seeded_store, records, hashing_embedder, tmp_path):
    engine = RetrievalEngine(hashing_embedder, HASHING_POLICY, jieba_cache=tmp_path / "jieba")
    engine.load(seeded_store.published(), seeded_store.revision(), seeded_store.content_hash())
    signal = Once()
    live = LiveEngine.around(engine, seeded_store, signal)
    start = engine.revision

    edited = records[0].model_copy(update={"summary": records[0].summary + "（已更新）"})
    seeded_store.import_records([edited], actor="editor")
    database = seeded_store.engine.url.database
    seeded_store.engine.dispose()
    moved = tmp_path / "away.db"
    (tmp_path / database.rsplit("/", 1)[-1]).rename(moved)  # the database is gone

    signal.pending = True
    assert live.engine() is engine and engine.revision == start  # still answering, from what it had
    assert live.engine().revision == start  # the signal was spent, but the change is still owed

    seeded_store.engine.dispose()
    moved.rename(database)  # back
    assert live.engine().revision == seeded_store.revision() > start
    assert live.engine().search(edited.name).candidates[0].code == edited.code
