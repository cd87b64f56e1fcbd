"""Dependencies the routes declare; tests override them on the app instead of patching modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from accounts.service import Account, AccountBook
from accounts.tables import ROLES
from daoban.settings import Settings
from hall.tickets import TicketDesk
from index.live import EngineSource
from journal.log import ChatJournal
from journal.sources import GuideNames
from knowledge.editing import Editing
from knowledge.store import KnowledgeStore
from service.citizens import CitizenCookies
from service.conversation import Conversations
from service.limits import SenderRateLimit
from service.rasa_client import RasaClient

SESSION_COOKIE = "daoban_session"

_bearer = HTTPBearer(auto_error=False, description="the token POST /api/auth/login gave")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="set by POST /api/auth/login")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_rasa(request: Request) -> RasaClient:
    return request.app.state.rasa


def get_store(request: Request) -> KnowledgeStore:
    return request.app.state.store


def get_database_file(request: Request) -> tuple[int, int] | None:
    """(device, inode) of the SQLite file the API opened at start; None on PostgreSQL."""
    return request.app.state.database_file


def get_engine_source(request: Request) -> EngineSource:
    return request.app.state.engine_source


def get_rate_limit(request: Request) -> SenderRateLimit:
    return request.app.state.rate_limit


def get_tickets(request: Request) -> TicketDesk:
    return TicketDesk(request.app.state.store.engine)


def get_journal(request: Request) -> ChatJournal:
    return ChatJournal(request.app.state.store.engine)


def get_guide_names(request: Request) -> GuideNames:
    return GuideNames(request.app.state.store.engine)


def get_conversations(request: Request) -> Conversations:
    state = request.app.state
    return Conversations(rasa=state.rasa, tickets=get_tickets(request), journal=get_journal(request),
                         names=get_guide_names(request), limit=state.rate_limit, reader=state.offer_reader,
                         origin_limit=state.address_limit, handovers=state.handovers)


def get_citizens(request: Request) -> CitizenCookies:
    return request.app.state.citizens


def client_address(request: Request) -> str:
    """The client's address: the TCP peer, or what a trusted proxy said it was (``trusted_proxies``)."""
    return request.client.host if request.client else "unknown"


def get_editing(request: Request) -> Editing:
    return Editing(request.app.state.store)


def get_accounts(request: Request) -> AccountBook:
    return AccountBook(request.app.state.store.engine)


def session_token(
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> str | None:
    """The session token from ``Authorization: Bearer …`` (API clients) or the cookie (the web consoles)."""
    return bearer.credentials if bearer is not None else cookie


def current_account(
    token: Annotated[str | None, Depends(session_token)], accounts: Annotated[AccountBook, Depends(get_accounts)],
) -> Account:
    """The logged-in staff account; 401 when there is no token or its session is expired, revoked or disabled."""
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "login needed: POST /api/auth/login, then send the token "
                            "as 'Authorization: Bearer <token>'", headers={"WWW-Authenticate": "Bearer"})
    account = accounts.authenticate(token)
    if account is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the session is expired or not valid: log in again",
                            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return account


def require_role(*roles: str) -> Callable[[Account], Account]:
    """A dependency that lets through an account with any of ``roles`` (admins always), 403 otherwise."""
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise ValueError(f"roles must be one or more of {', '.join(ROLES)}, got {list(roles)}")

    def check(account: Annotated[Account, Depends(current_account)]) -> Account:
        if not any(account.has_role(role) for role in roles):
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"this needs the role {' or '.join(roles)}; {account.username} has "
                                f"{', '.join(account.roles)}")
        return account

    return check


def current_editor(account: Annotated[Account, Depends(require_role("editor"))]) -> str:
    """The acting editor's username, recorded in drafts, versions and the audit log."""
    return account.username


SettingsDep = Annotated[Settings, Depends(get_settings)]
RasaDep = Annotated[RasaClient, Depends(get_rasa)]
StoreDep = Annotated[KnowledgeStore, Depends(get_store)]
DatabaseFileDep = Annotated[tuple[int, int] | None, Depends(get_database_file)]
EditingDep = Annotated[Editing, Depends(get_editing)]
AccountsDep = Annotated[AccountBook, Depends(get_accounts)]
CurrentAccount = Annotated[Account, Depends(current_account)]
CurrentAgent = Annotated[Account, Depends(require_role("agent"))]
CurrentAdmin = Annotated[Account, Depends(require_role("admin"))]
# the editor routes record a name, not an account: a plain string
CurrentEditor = Annotated[str, Depends(current_editor)]
EngineDep = Annotated[EngineSource, Depends(get_engine_source)]
TicketsDep = Annotated[TicketDesk, Depends(get_tickets)]
RateLimitDep = Annotated[SenderRateLimit, Depends(get_rate_limit)]
JournalDep = Annotated[ChatJournal, Depends(get_journal)]
GuideNamesDep = Annotated[GuideNames, Depends(get_guide_names)]
ConversationsDep = Annotated[Conversations, Depends(get_conversations)]
CitizensDep = Annotated[CitizenCookies, Depends(get_citizens)]
ClientAddressDep = Annotated[str, Depends(client_address)]
