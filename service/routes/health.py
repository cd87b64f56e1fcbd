"""Health of every component a citizen's answer depends on; 200 only when all are up.

The database is up only when it answers *and takes a write* (a probe that is
rolled back): a read-only database answers every read while every booking,
login and journal line fails. A SQLite file that is missing, or that another
file replaced since the API started, is down too: the API's open connections
would go on using the old one.
"""

from __future__ import annotations

import asyncio

import httpx
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from daoban.settings import Settings
from index.embedder import model_fingerprint
from index.errors import StaleIndex
from index.persist import read_manifest
from knowledge.database import DatabaseNotReady, check_writable, file_identity, sqlite_file
from knowledge.store import KnowledgeStore
from service.deps import DatabaseFileDep, RasaDep, SettingsDep, StoreDep
from service.schemas import ComponentHealth, HealthResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthResponse)
async def healthz(settings: SettingsDep, rasa: RasaDep, store: StoreDep, opened: DatabaseFileDep) -> JSONResponse:
    rasa_up, rasa_detail = await rasa.ready()
    actions = await _actions(settings)
    database = await asyncio.to_thread(_database, settings, store, opened)
    index = await asyncio.to_thread(_index, settings, store) if database.up else ComponentHealth(up=False, detail="database down")
    components = {
        "rasa": ComponentHealth(up=rasa_up, detail=rasa_detail),
        "actions": actions,
        "index": index,
        "database": database,
    }
    healthy = all(c.up for c in components.values())
    body = HealthResponse(status="ok" if healthy else "degraded", components=components)
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)


async def _actions(settings: Settings) -> ComponentHealth:
    """Every action server must answer (production mode runs several)."""
    async with httpx.AsyncClient(timeout=3.0) as client:
        for url in settings.actions_urls:
            try:
                response = await client.get(f"{url}/health")
            except httpx.HTTPError as exc:
                return ComponentHealth(up=False, detail=f"{url} unreachable ({exc.__class__.__name__})")
            if response.status_code != 200:
                return ComponentHealth(up=False, detail=f"{url} status {response.status_code}")
    return ComponentHealth(up=True, detail=f"{len(settings.actions_urls)} action server(s) up")


def _database(settings: Settings, store: KnowledgeStore, opened: tuple[int, int] | None) -> ComponentHealth:
    moved = _file_changed(settings, opened)
    if moved:
        return ComponentHealth(up=False, detail=moved)
    try:
        store.ping()
    except Exception as exc:  # any driver error means the same to a health check: down
        return ComponentHealth(up=False, detail=f"unreachable ({exc.__class__.__name__})")
    try:
        check_writable(store.engine)
    except Exception as exc:
        return ComponentHealth(up=False, detail=f"not writable: {_why_not_writable(exc)}")
    return ComponentHealth(up=True, detail=f"{store.count()} published records")


def _file_changed(settings: Settings, opened: tuple[int, int] | None) -> str | None:
    """What happened to the SQLite file the API opened at start, if it is gone or another is in its place."""
    path = sqlite_file(settings.sqlalchemy_url)
    if path is None or opened is None:
        return None
    now = file_identity(path)
    if now is None:
        return f"the database file {path} is missing: put it back, then restart the API"
    if now != opened:
        return f"the database file {path} was replaced since the API started: restart the API"
    return None


def _why_not_writable(exc: Exception) -> str:
    """Our own checks say what they found; a driver's refusal is named by kind, never with its SQL."""
    if isinstance(exc, DatabaseNotReady):
        return str(exc)
    message = str(getattr(exc, "orig", None) or exc).lower()
    if "readonly" in message or "read-only" in message or "read only" in message:
        return "the database is read-only"
    return exc.__class__.__name__


def _index(settings: Settings, store: KnowledgeStore) -> ComponentHealth:
    try:
        manifest = read_manifest(settings.index_dir)
    except StaleIndex as exc:
        return ComponentHealth(up=False, detail=str(exc))
    if not (settings.embedding_model_dir / "modules.json").is_file():
        return ComponentHealth(up=False, detail=f"no embedding model at {settings.embedding_model_dir}")
    if manifest.get("model") != model_fingerprint(settings.embedding_model_dir):
        return ComponentHealth(up=False, detail="index was built with another embedding model: run `daoban index build`")
    behind = store.revision() - int(manifest.get("revision", 0))
    detail = f"{manifest.get('records')} records, {manifest.get('documents')} documents, revision {manifest.get('revision')}"
    if behind > 0:
        detail += f" (catching up {behind} revision(s) of edits)"
    return ComponentHealth(up=behind >= 0, detail=detail)
