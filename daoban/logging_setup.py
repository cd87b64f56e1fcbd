"""Process-level logging configuration, called by entry points only (never by library code)."""

from __future__ import annotations

import logging


def configure_logging(level: str = "INFO") -> None:
    # third-party chatter that says nothing to an operator at INFO
    for noisy in ("alembic.runtime.plugins", "alembic.runtime.migration", "bm25s", "sentence_transformers", "httpx", "faiss.loader"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    root = logging.getLogger()
    if root.handlers:
        root.setLevel(level)
        return
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
