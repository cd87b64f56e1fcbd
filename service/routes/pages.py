"""The web pages, served from local files (no framework, nothing downloaded at run time).

``/`` is the citizens' chat, ``/agent`` the hotline agents' console, ``/editor`` the
editors' console. The pages themselves are public; the data behind the consoles
needs a staff login (the API routes check it). Every page carries a strict
Content-Security-Policy: scripts and styles only from files on this server, no
inline code, no framing.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",
}

router = APIRouter(tags=["pages"])


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC_DIR / name, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


@router.get("/", include_in_schema=False)
async def chat_page() -> FileResponse:
    return _page("index.html")


@router.get("/agent", include_in_schema=False)
async def agent_page() -> FileResponse:
    return _page("agent.html")


@router.get("/editor", include_in_schema=False)
async def editor_page() -> FileResponse:
    return _page("editor.html")
