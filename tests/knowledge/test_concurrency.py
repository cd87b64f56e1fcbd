"""Editors at the same time: real threads and connections, on SQLite and PostgreSQL."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session

from knowledge.editing import Editing
from knowledge.errors import VersionConflict
from knowledge.store import next_revision, record_to_json
from tests.conftest import make_item

THREADS = 8


def _all_at_once(jobs):
    """Run the callables in threads released together, returning results or raised errors."""
    barrier = threading.Barrier(len(jobs))

    def run(job):
        barrier.wait()
        try:
            return job()
        except Exception as exc:  # noqa: BLE001  (collected and asserted on by the test)
            return exc

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(run, jobs))


def test_concurrent_publishes_get_distinct_revisions(seeded_store):
    editing = Editing(seeded_store)
    codes = [f"T-PAR-{n:03d}" for n in range(THREADS)]
    for code in codes:
        editing.save_draft(code, record_to_json(make_item(code, f"并发事项{code}")), base_version=0, actor="setup")
    before = seeded_store.revision()
    results = _all_at_once([lambda c=code: editing.publish(c, "editor", expected_draft_version=1) for code in codes])
    assert not [r for r in results if isinstance(r, Exception)]
    assert sorted(r.revision for r in results) == list(range(before + 1, before + THREADS + 1))
    assert {r.code for r in seeded_store.changes_since(before).upserted} == set(codes)


def test_concurrent_saves_on_one_version_let_exactly_one_win(seeded_store):
    editing = Editing(seeded_store)
    live = record_to_json(seeded_store.get("T-JZ-001"))
    jobs = [
        lambda n=n: editing.save_draft("T-JZ-001", {**live, "summary": f"编辑{n}"}, base_version=1, actor=f"e{n}")
        for n in range(THREADS)
    ]
    results = _all_at_once(jobs)
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1 and all(isinstance(r, VersionConflict) for r in results if r not in winners)
    assert editing.view("T-JZ-001").draft.data["summary"] == winners[0].data["summary"]


def test_concurrent_saves_on_one_draft_save_let_exactly_one_win(seeded_store):
    editing = Editing(seeded_store)
    live = record_to_json(seeded_store.get("T-SB-002"))
    editing.save_draft("T-SB-002", live, base_version=1, actor="setup")
    jobs = [
        lambda n=n: editing.save_draft("T-SB-002", {**live, "summary": f"编辑{n}"}, base_version=1, actor=f"e{n}",
                                       draft_version=1)
        for n in range(THREADS)
    ]
    results = _all_at_once(jobs)
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1 and winners[0].version == 2
    assert all(isinstance(r, VersionConflict) for r in results if r not in winners)


def test_a_second_writer_waits_for_the_first_to_commit(seeded_store):
    """Revisions become visible in order: a reader at N never meets a later commit below N."""
    before = seeded_store.revision()
    first = Session(seeded_store.engine)
    assert next_revision(first) == before + 1  # the counter row is now locked until commit
    second_result: list[int] = []
    second = threading.Thread(target=lambda: second_result.append(_take_revision(seeded_store)))
    second.start()
    time.sleep(0.5)
    assert second_result == []  # still waiting on the first transaction
    first.commit()
    first.close()
    second.join(timeout=10)
    assert second_result == [before + 2]


def _take_revision(store) -> int:
    with Session(store.engine) as session, session.begin():
        return next_revision(session)
