"""Errors the service raises and how they become HTTP answers.

ServiceError
├── AssistantUnavailable   Rasa or the action server did not answer in time (503)
└── TooManyMessages        one sender over the chat rate (429)

The database going away (``database_unavailable``) is a 503 with Retry-After,
never a 500 or a hang: the engine's connect and pool timeouts are short.

The knowledge package's errors are translated here too, at the boundary
(``knowledge_error``): RecordNotFound 404, VersionConflict 409 (with the
versions, so a client can say what moved), DraftInvalid and ImportRefused 422
(with every problem and its field path).
"""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from knowledge.errors import DraftInvalid, ImportRefused, KnowledgeError, RecordNotFound, VersionConflict

logger = logging.getLogger(__name__)


class ServiceError(Exception):
    status_code = 500
    headers: dict[str, str] | None = None


class AssistantUnavailable(ServiceError):
    status_code = 503


class TooManyMessages(ServiceError):
    status_code = 429
    headers = {"Retry-After": "60"}


DATABASE_ERRORS = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)
RETRY_AFTER_S = 10


async def database_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    logger.error("database unavailable: %s", exc.__class__.__name__)
    return JSONResponse({"detail": "服务暂时不可用（数据库连接中断），请稍后再试。"}, status_code=503,
                        headers={"Retry-After": str(RETRY_AFTER_S)})


async def knowledge_error(_request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, RecordNotFound):
        return JSONResponse({"detail": str(exc)}, status_code=404)
    if isinstance(exc, VersionConflict):
        body = {"detail": exc.reason, "code": exc.code, "expected": exc.expected, "actual": exc.actual}
        return JSONResponse(body, status_code=409)
    if isinstance(exc, DraftInvalid):
        problems = [{"field": p.field, "message": p.message} for p in exc.problems]
        return JSONResponse({"detail": str(exc), "code": exc.code, "problems": problems}, status_code=422)
    if isinstance(exc, ImportRefused):
        problems = [{"field": f"{p.file}:{p.row}:{p.field}", "message": p.message} for p in exc.problems]
        return JSONResponse({"detail": str(exc), "problems": problems}, status_code=422)
    assert isinstance(exc, KnowledgeError)
    logger.error("unmapped knowledge error: %s", exc)
    return JSONResponse({"detail": str(exc)}, status_code=400)
