"""Where actions get their retrieval engine: rasa-sdk builds actions without
arguments, so they ask ``default_source()``; tests hand them a ``StaticEngine``."""

from __future__ import annotations

from index.live import EngineSource, LiveEngine

_default: LiveEngine | None = None


def default_source() -> EngineSource:
    """Created on first use inside the worker: Sanic pickles actions when it spawns one,
    and a lock or database handle made at import would not survive that."""
    global _default
    if _default is None:
        _default = LiveEngine()
    return _default
