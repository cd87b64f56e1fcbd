"""The web pages: served with a strict CSP, assets local, no inline code, no HTML injection in scripts.

Plain HTTP and file checks; the browser tests (Playwright) drive the pages themselves.
"""

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from service.main import create_app
from service.routes.pages import CONTENT_SECURITY_POLICY, STATIC_DIR
from tests.conftest import isolated_settings

PAGES = {"/": "index.html", "/agent": "agent.html", "/editor": "editor.html"}

# Ids the browser tests rely on: renaming one breaks them.
STABLE_IDS = {
    "/": ["elder-toggle", "handover-banner", "log", "ask", "text", "send"],
    "/agent": [
        "login-form", "login-username", "login-password", "login-submit", "login-error", "logout", "whoami", "app",
        "assist-question", "assist-district", "assist-submit", "assist-results", "ticket-list", "ticket-detail",
        "ticket-context", "ticket-transcript", "ticket-take", "ticket-reply-text", "ticket-reply-send", "ticket-close",
        "ticket-hand-back", "takeover-form", "takeover-refresh", "conversation-list",
    ],
    "/editor": [
        "login-form", "login-username", "login-password", "login-submit", "login-error", "logout", "whoami", "app",
        "tab-records", "tab-todo", "record-search", "record-search-submit", "record-list", "record-json",
        "record-version", "draft-save", "draft-validate", "draft-publish", "editor-status", "problems",
        "preview-question", "preview-submit", "preview-reply", "todo-list",
    ],
}

# Ways a script could turn text into markup or code.
FORBIDDEN_IN_SCRIPTS = re.compile(
    r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\s*\(|new\s+Function\s*\(|"
    r"set(?:Timeout|Interval)\s*\(\s*[\"'`]|\.setAttribute\(\s*[\"']on|\.setAttribute\(\s*[\"']style"
)


class _Page(HTMLParser):
    """Collects what the checks need from a page: tags with their attributes, ids, labels, inline code."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.inline_code: list[str] = []
        self._open_script: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        self.tags.append((tag, attributes))
        if tag == "style":
            self.inline_code.append("<style> element")
        if tag == "script":
            self._open_script = attributes

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._open_script = None

    def handle_data(self, data: str) -> None:
        if self._open_script is not None and data.strip():
            self.inline_code.append(f"inline script: {data.strip()[:40]}")

    def ids(self) -> list[str]:
        return [a["id"] for _, a in self.tags if "id" in a]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """One app for the module: pages need neither Rasa nor the index (both are only reached lazily)."""
    settings = isolated_settings(tmp_path_factory.mktemp("pages") / "home")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _assets() -> list:
    return sorted(p for p in STATIC_DIR.iterdir() if p.suffix in {".html", ".js", ".css"})


@pytest.mark.parametrize("path", PAGES)
def test_page_is_served_with_a_strict_content_security_policy(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    policy = {d.split()[0]: d.split()[1:] for d in CONTENT_SECURITY_POLICY.split("; ")}
    assert policy["default-src"] == ["'self'"] and policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"] and policy["frame-ancestors"] == ["'none'"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.text == (STATIC_DIR / PAGES[path]).read_text(encoding="utf-8")


def test_console_pages_are_public_even_without_a_login(client):
    client.cookies.clear()
    for path in ("/agent", "/editor"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 200, path
        assert "login-form" in response.text


@pytest.mark.parametrize("path", PAGES)
def test_every_asset_a_page_names_is_local_and_served(client, path):
    page = _parse(client.get(path).text)
    references = [a["src"] for t, a in page.tags if t == "script"]
    references += [a["href"] for t, a in page.tags if t == "link"]
    assert references, "a page with neither script nor stylesheet"
    for ref in references:
        assert ref.startswith("/static/") and not ref.startswith("//"), ref
        response = client.get(ref)
        assert response.status_code == 200, ref
        expected = {".js": "javascript", ".css": "text/css", ".svg": "image/svg+xml"}[ref[ref.rfind("."):]]
        assert expected in response.headers["content-type"], (ref, response.headers["content-type"])


@pytest.mark.parametrize("path", PAGES)
def test_page_has_no_inline_script_style_or_handler(client, path):
    page = _parse(client.get(path).text)
    assert page.inline_code == []
    for tag, attributes in page.tags:
        assert "style" not in attributes, tag
        assert not [name for name in attributes if name.startswith("on")], (tag, attributes)
        if tag == "script":
            assert attributes.get("src"), "a script without src is inline code"


@pytest.mark.parametrize("path", PAGES)
def test_page_has_its_stable_ids_once_and_a_label_for_every_field(client, path):
    page = _parse(client.get(path).text)
    ids = page.ids()
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    missing = [i for i in STABLE_IDS[path] if i not in ids]
    assert missing == []
    labelled = {a["for"] for t, a in page.tags if t == "label" and "for" in a}
    assert labelled <= set(ids), labelled - set(ids)
    for tag, attributes in page.tags:
        if tag in {"input", "select", "textarea"} and attributes.get("type") != "hidden":
            assert attributes.get("id") in labelled or attributes.get("aria-label"), (tag, attributes)
    assert 'lang="zh-CN"' in client.get(path).text


@pytest.mark.parametrize("asset", _assets(), ids=lambda p: p.name)
def test_no_asset_reaches_outside_the_server(asset):
    text = asset.read_text(encoding="utf-8")
    assert not re.search(r"https?://|(?:src|href)\s*=\s*[\"']//|url\(\s*[\"']?(?:https?:)?//|@import", text), asset.name


@pytest.mark.parametrize("script", sorted(STATIC_DIR.glob("*.js")), ids=lambda p: p.name)
def test_scripts_never_build_markup_or_code_from_strings(script):
    text = script.read_text(encoding="utf-8")
    found = FORBIDDEN_IN_SCRIPTS.findall(text)
    assert found == [], f"{script.name}: {found}"
    assert text.lstrip().startswith("//") and '"use strict"' in text  # a comment saying what it is, strict mode


def test_every_script_and_stylesheet_is_used_by_a_page(client):
    named = set()
    for path in PAGES:
        page = _parse(client.get(path).text)
        named |= {a.get("src") or a.get("href") for t, a in page.tags if t in {"script", "link"}}
    named = {n for n in named if n.endswith((".js", ".css"))}
    on_disk = {f"/static/{p.name}" for p in STATIC_DIR.iterdir() if p.suffix in {".js", ".css"}}
    assert on_disk == named


def test_ids_the_scripts_look_up_exist_in_their_pages():
    """Every getElementById / $("…") in a page's script names an element of that page (a typo would be a null)."""
    pages = {"chat.js": ["index.html"], "agent.js": ["agent.html"], "editor.js": ["editor.html"],
             "console.js": ["agent.html", "editor.html"]}
    for script, htmls in pages.items():
        wanted = set(re.findall(r"(?:getElementById|\$)\(\"([\w-]+)\"\)", (STATIC_DIR / script).read_text(encoding="utf-8")))
        assert wanted, script
        for html in htmls:
            ids = set(_parse((STATIC_DIR / html).read_text(encoding="utf-8")).ids())
            assert wanted - ids == set(), (script, html, wanted - ids)
