"""Dependencies the routes declare; tests override them on the app instead of patching modules."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from daoban.settings import Settings
from index.live import EngineSource
from knowledge.store import KnowledgeStore
from service.rasa_client import RasaClient


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_rasa(request: Request) -> RasaClient:
    return request.app.state.rasa


def get_store(request: Request) -> KnowledgeStore:
    return request.app.state.store


def get_engine_source(request: Request) -> EngineSource:
    return request.app.state.engine_source


SettingsDep = Annotated[Settings, Depends(get_settings)]
RasaDep = Annotated[RasaClient, Depends(get_rasa)]
StoreDep = Annotated[KnowledgeStore, Depends(get_store)]
EngineDep = Annotated[EngineSource, Depends(get_engine_source)]
