"""Load the halls file into ``hall_halls``: at set-up, and whenever an administrator edits the file.

Halls are upserted by code, in one transaction, after the whole file validated:
a bad file changes nothing. Halls missing from the file are kept (bookings and
tickets still name them); an unchanged hall is not rewritten, so ``updated_at``
says when its data last changed.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, select

from hall.halls import load_halls
from hall.tables import HallRow, to_utc, upsert_insert, write_transaction

logger = logging.getLogger(__name__)

DEMO_HALLS = Path(__file__).resolve().parent / "demo_halls.json"


def seed_halls(engine: Engine, path: Path | str, now: datetime) -> int:
    """Insert or update the halls in ``path``; returns how many were new or changed (0 when all were current).

    Raises ``HallDataError`` naming the file, the hall and the field when the file does not validate.
    """
    halls = load_halls(path)
    stamp = to_utc(now)
    written = 0
    with write_transaction(engine) as connection:
        stored = {row.code: row.data for row in connection.execute(select(HallRow.code, HallRow.data))}
        for hall in halls:
            data = hall.to_json()
            if stored.get(hall.code) == data:
                continue
            statement = upsert_insert(connection)(HallRow).values(code=hall.code, data=data, updated_at=stamp)
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[HallRow.code],
                    set_={"data": statement.excluded.data, "updated_at": statement.excluded.updated_at},
                )
            )
            written += 1
    logger.info("halls from %s: %d new or changed, %d current", path, written, len(halls) - written)
    return written
