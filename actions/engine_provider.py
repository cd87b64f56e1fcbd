"""Where actions get their retrieval engine: rasa-sdk builds actions without
arguments, so they ask ``default_source()``; tests hand them a ``StaticEngine``.

An action server's worker loads the engine (model and index, tens of seconds on
a busy machine) as soon as it starts, in the background, so a server that was
restarted after a crash is ready before a citizen's message needs it.
"""

from __future__ import annotations

import logging
import os
import threading

from index.live import EngineSource, LiveEngine

logger = logging.getLogger(__name__)

_default: LiveEngine | None = None


def default_source() -> EngineSource:
    """Created on first use inside the worker: Sanic pickles actions when it spawns one,
    and a lock or database handle made at import would not survive that."""
    global _default
    if _default is None:
        _default = LiveEngine()
    return _default


def _load() -> None:
    try:
        default_source().engine()
    except Exception as exc:  # the first action that needs the engine reports it again, with its reason
        logger.warning("retrieval engine not preloaded: %s", exc)
    else:
        logger.info("retrieval engine loaded")


def preload_in_sanic_worker() -> bool:
    """Start loading the engine when this process is an action server's worker (Sanic names it), not before:
    the primary process only spawns workers, and a model loaded there would be memory spent twice."""
    if not os.environ.get("SANIC_WORKER_NAME", "").startswith("Sanic-Server"):
        return False
    threading.Thread(target=_load, name="engine-preload", daemon=True).start()
    return True


preload_in_sanic_worker()
