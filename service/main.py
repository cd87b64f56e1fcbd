"""Builds the FastAPI application; ``uvicorn --factory service.main:create_app`` serves it."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from actions.offers import OfferReader, engine_meaning
from daoban.logging_setup import configure_logging
from daoban.settings import Settings, load_settings
from index.errors import BadQuery, RetrievalError
from index.lexicon import Lexicon
from index.live import EngineSource, LiveEngine
from index.tokens import default_stop_words
from index.wording import WordReader
from knowledge.database import DatabaseNotReady, file_identity, open_database, sqlite_file
from knowledge.errors import KnowledgeError
from knowledge.notify import RedisNotifier, announce_changes
from knowledge.store import KnowledgeStore
from service.citizens import CitizenCookies
from service.errors import DATABASE_ERRORS, ServiceError, database_unavailable, knowledge_error
from service.limits import HOUR_S, BodySizeLimit, budget, sender_rate_limit
from service.rasa_client import RasaClient
from service.routes import agent, assist, auth, chat, editor, editor_tools, health, pages, ratings, wechat
from service.routes.pages import STATIC_DIR
from service.wechat import build_channel

logger = logging.getLogger(__name__)
ADDRESS_LOGIN_FACTOR = 5  # staff behind one gateway share an address: it may try this many times a username's limit


def _citizen_key(settings: Settings) -> bytes:
    """The key web citizens' cookies are signed with: the configured one (``daoban start`` gives every worker the
    same), else one of this process's own, which a restart forgets (each citizen then starts anew)."""
    if settings.citizen_key:
        return settings.citizen_key.encode("utf-8")
    logger.info("no citizen_key configured: web citizens' cookies are signed with a key of this process's own")
    return secrets.token_bytes(32)


def _preload(source: EngineSource) -> None:
    try:
        source.engine()
    except Exception as exc:  # reported again, with its reason, when a route needs the engine
        logger.warning("retrieval engine not loaded at start: %s", exc)


def open_served_store(settings: Settings) -> KnowledgeStore:
    """The store over the database ``daoban setup`` made; the API never creates one.

    A missing SQLite file, a database never set up or one from a newer Daoban
    stops the start with ``DatabaseNotReady`` saying what to run: an API that
    made itself an empty database would turn staff away and split new records
    from the old file that other processes still write to.
    """
    try:
        engine = open_database(settings.sqlalchemy_url)
    except DatabaseNotReady as exc:
        logger.critical("the API does not start: %s", exc)
        raise
    if settings.mode == "production":
        announce_changes(engine, RedisNotifier(settings.redis_url))
    return KnowledgeStore(engine)


def create_app(
    settings: Settings | None = None, rasa: RasaClient | None = None, engine_source: EngineSource | None = None,
    wechat_transport: httpx.AsyncBaseTransport | None = None, clock: Callable[[], float] = time.time,
) -> FastAPI:
    """``clock`` is what the rate limits count minutes by (tests hold it still).

    Raises ``DatabaseNotReady`` when the configured database was not set up (see ``open_served_store``).
    """
    settings = settings or load_settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # load the retrieval engine (embedding model, index) while the worker starts, not on an agent's
        # first question; the worker serves meanwhile, and a failure is reported by /healthz and the routes
        loading = asyncio.create_task(asyncio.to_thread(_preload, app.state.engine_source))
        yield
        loading.cancel()
        if app.state.wechat is not None:
            await app.state.wechat.aclose()
        await app.state.rasa.aclose()
        app.state.store.engine.dispose()

    app = FastAPI(title="Daoban 导办", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.store = open_served_store(settings)
    # the file it opened: /healthz turns red when another file is put in its place (or none), which
    # the open connections would not notice
    app.state.database_file = file_identity(sqlite_file(settings.sqlalchemy_url))
    app.state.rasa = rasa or RasaClient(settings.rasa_urls, settings.rasa_timeout_s, token=settings.rasa_token)
    app.state.engine_source = engine_source or LiveEngine(settings)
    app.state.offer_reader = OfferReader(WordReader(Lexicon.load(), default_stop_words()),
                                         meaning=engine_meaning(app.state.engine_source))
    app.state.wechat = build_channel(settings, transport=wechat_transport)  # None: /wechat answers 404
    app.state.rate_limit = sender_rate_limit(settings.mode, settings.redis_url, settings.chat_messages_per_minute,
                                             clock)
    app.state.address_limit = sender_rate_limit(settings.mode, settings.redis_url,
                                                settings.chat_messages_per_address_per_minute, clock)
    app.state.handovers = budget(settings.mode, settings.redis_url, settings.handovers_per_address_per_hour,
                                 HOUR_S, clock)
    app.state.citizens = CitizenCookies(_citizen_key(settings))
    app.state.login_limit = sender_rate_limit(settings.mode, settings.redis_url, settings.login_attempts_per_minute,
                                              clock)
    app.state.login_address_limit = sender_rate_limit(settings.mode, settings.redis_url,
                                                      ADDRESS_LOGIN_FACTOR * settings.login_attempts_per_minute, clock)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)

    @app.exception_handler(ServiceError)
    async def service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # the reason and the field, never the input: it may hold an ID number, or bytes that can't be encoded
        detail = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type", "")}
                  for e in exc.errors()]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(BadQuery)
    async def bad_query(_request: Request, exc: BadQuery) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(RetrievalError)
    async def retrieval_unavailable(_request: Request, exc: RetrievalError) -> JSONResponse:
        logger.error("retrieval unavailable: %s", exc)
        return JSONResponse({"detail": f"检索服务暂不可用：{exc}"}, status_code=503)

    app.include_router(health.router)
    app.include_router(chat.router)
    app.include_router(assist.router)
    app.include_router(pages.router)
    app.include_router(auth.router)
    app.include_router(editor.router)
    app.include_router(wechat.router)
    app.include_router(ratings.router)
    app.include_router(agent.router)
    app.include_router(editor_tools.router)
    app.add_exception_handler(KnowledgeError, knowledge_error)
    for error in DATABASE_ERRORS:
        app.add_exception_handler(error, database_unavailable)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
