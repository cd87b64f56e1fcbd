"""Dependencies the routes declare; tests override them on the app instead of patching modules."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status

from daoban.settings import Settings
from hall.tickets import TicketDesk
from index.live import EngineSource
from knowledge.editing import Editing
from knowledge.store import KnowledgeStore
from service.rasa_client import RasaClient

EDITOR_HEADER = "X-Daoban-Editor"
EDITOR_ID = re.compile(r"^[A-Za-z0-9_.@\-]{1,120}$")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_rasa(request: Request) -> RasaClient:
    return request.app.state.rasa


def get_store(request: Request) -> KnowledgeStore:
    return request.app.state.store


def get_engine_source(request: Request) -> EngineSource:
    return request.app.state.engine_source


def get_tickets(request: Request) -> TicketDesk:
    return TicketDesk(request.app.state.store.engine)


def get_editing(request: Request) -> Editing:
    return Editing(request.app.state.store)


def current_editor(
    x_daoban_editor: Annotated[str | None, Header(description="the acting editor's account id")] = None,
) -> str:
    """The acting editor's account id, recorded in drafts, versions and the audit log.

    A stand-in until roles (agent / editor / admin) arrive: it trusts the
    ``X-Daoban-Editor`` header, so the editor API must only be reachable through
    a proxy that sets it. Real authentication replaces this one function; the
    routes only ever see ``CurrentEditor``, a plain string.
    """
    if not x_daoban_editor:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"the editor API needs the {EDITOR_HEADER} header",
                            headers={"WWW-Authenticate": EDITOR_HEADER})
    if not EDITOR_ID.match(x_daoban_editor):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                            f"{EDITOR_HEADER} must be an account id: letters, digits, '_', '.', '@', '-', at most 120",
                            headers={"WWW-Authenticate": EDITOR_HEADER})
    return x_daoban_editor


SettingsDep = Annotated[Settings, Depends(get_settings)]
RasaDep = Annotated[RasaClient, Depends(get_rasa)]
StoreDep = Annotated[KnowledgeStore, Depends(get_store)]
EditingDep = Annotated[Editing, Depends(get_editing)]
CurrentEditor = Annotated[str, Depends(current_editor)]
EngineDep = Annotated[EngineSource, Depends(get_engine_source)]
TicketsDep = Annotated[TicketDesk, Depends(get_tickets)]
