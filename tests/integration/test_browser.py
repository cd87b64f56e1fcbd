"""The three doors in a real browser: Debian's Chromium driven by Playwright against the running stack.

A citizen chats with buttons and rates an answer; an agent takes the
conversation over, replies and hands it back; an editor changes a guide and
publishes it, and the citizen's next answer names the new version. With
DAOBAN_SCREENSHOTS_DIR set, each page is also photographed there (that is how
docs/screenshots/ is made).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from accounts.service import AccountBook
from knowledge.database import make_engine

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "browser-test-password"
SHOTS = os.environ.get("DAOBAN_SCREENSHOTS_DIR")


def _shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


@pytest.fixture(scope="module")
def staff(running):
    engine = make_engine(running.sqlalchemy_url)
    book = AccountBook(engine)
    book.create("agent-wang", PASSWORD, ["agent"], display_name="王坐席")
    book.create("editor-li", PASSWORD, ["editor"], display_name="李编辑")
    engine.dispose()
    return running


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def _login(page: Page, username: str) -> None:
    page.fill("#login-username", username)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    expect(page.locator("#app")).to_be_visible()


def test_citizen_chats_with_buttons_and_rates_an_answer(staff, browser):
    page = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
    page.goto(f"{staff.api_url}/")
    page.fill("#text", "办理居住证需要什么材料？")
    page.click("#send")
    answer = page.locator(".msg.bot[data-id]").last
    expect(answer).to_contain_text("【居住证申领】所需材料")
    expect(answer).to_contain_text("第1版")
    situation = answer.locator(".buttons button").first
    title = situation.inner_text()
    situation.click()
    expect(page.locator(".msg.bot[data-id]").last).to_contain_text(f"（{title}）所需材料")
    _shot(page, "web-chat")

    rated = page.locator(".msg.bot[data-id]").last
    rated.locator(".rate-useless").click()
    rated.locator(".rate-reason-text").fill("没写清楚复印件要几份")
    rated.locator(".rate-submit").click()
    expect(rated.locator(".rate-thanks")).to_be_visible()

    # a reload brings the conversation back from the server, a tap as the title the citizen tapped
    page.reload()
    expect(page.locator(".msg.bot[data-id]").last).to_contain_text(f"（{title}）所需材料")
    expect(page.locator(".msg.user").first).to_contain_text("办理居住证需要什么材料")
    expect(page.locator(".msg.user").nth(1)).to_contain_text(title)
    assert page.locator(".msg.user", has_text="/").count() == 0  # no payload shown

    page.click("#elder-toggle")
    expect(page.locator("html")).to_have_class(re.compile(r"\belder\b"))
    assert float(page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")) >= 22
    expect(page.locator("#elder-toggle")).to_have_text("退出长辈版")  # says how to leave it
    conversation = page.locator("#log").bounding_box()
    assert conversation["height"] >= 0.75 * 844, conversation  # three quarters of the phone's screen
    placeholder_fits = page.evaluate("(() => { const i = document.getElementById('text'); const c = document"
                                     ".createElement('canvas').getContext('2d'); c.font = getComputedStyle(i).font;"
                                     " return c.measureText(i.placeholder).width <= i.clientWidth; })()")
    assert placeholder_fits
    _shot(page, "web-chat-elder")


def test_agent_takes_over_replies_and_hands_back(staff, browser):
    citizen = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    citizen.goto(f"{staff.api_url}/")
    citizen.fill("#text", "居民身份证补领要带什么材料")
    citizen.click("#send")
    expect(citizen.locator(".msg.bot[data-id]").last).to_contain_text("【居民身份证补领】")
    # the page's script cannot read its citizen id (an HttpOnly cookie); the browser's cookie store can
    assert citizen.evaluate("document.cookie").find("daoban_citizen") < 0
    cookie = next(c for c in citizen.context.cookies() if c["name"] == "daoban_citizen")
    assert cookie["httpOnly"]
    sender = cookie["value"].rpartition(".")[0]

    agent = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    agent.goto(f"{staff.api_url}/agent")
    _login(agent, "agent-wang")
    agent.fill("#assist-question", "外地人在青山区办居住症要带什么")  # a slip the engine reads as 居住证
    agent.click("#assist-submit")
    expect(agent.locator(".suggestion").first).to_contain_text("居住证", timeout=60_000)
    expect(agent.locator(".suggestion").first).to_contain_text("把握较大")  # a word, not a raw score
    expect(agent.locator("#assist-results")).not_to_contain_text("匹配分")
    expect(agent.locator("#assist-status")).to_contain_text(re.compile(r"已纠正输入：“[^”]*居住症”按“[^”]*居住证”理解"))

    agent.click("#takeover-refresh")
    row = agent.locator(f'.conversation-row[data-sender="{sender}"]')
    expect(row).to_be_visible()
    row.locator(".takeover-button").click()
    expect(agent.locator("#ticket-reply-text")).to_be_enabled()
    agent.fill("#ticket-reply-text", "您好，我是工作人员小王，补办需要带户口簿。")
    agent.click("#ticket-reply-send")
    expect(citizen.locator(".msg.agent")).to_contain_text("我是工作人员小王", timeout=30_000)
    expect(citizen.locator("#handover-banner")).to_be_visible()
    _shot(agent, "agent-console")
    _shot(citizen, "web-chat-handover")

    agent.click("#ticket-hand-back")
    expect(citizen.locator("#handover-banner")).to_be_hidden(timeout=30_000)
    citizen.fill("#text", "要钱吗？")
    citizen.click("#send")
    expect(citizen.locator(".msg.bot[data-id]").last).to_contain_text("【居民身份证补领】", timeout=30_000)


def test_editor_publishes_and_the_bot_answers_from_the_new_version(staff, browser):
    editor = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    editor.goto(f"{staff.api_url}/editor")
    _login(editor, "editor-li")
    editor.fill("#record-search", "居民身份证补领")
    editor.click("#record-search-submit")
    editor.locator(".record-row").filter(has_text="居民身份证补领").first.click()
    expect(editor.locator("#record-json")).to_have_value(re.compile("居民身份证补领"))
    record = json.loads(editor.locator("#record-json").input_value())
    version = record["version"]
    record["fee"] = {"charged": True, "standard": "工本费20元（浏览器测试改）"}
    editor.fill("#record-json", json.dumps(record, ensure_ascii=False, indent=2))
    editor.click("#draft-save")
    expect(editor.locator("#editor-status")).to_have_class(re.compile(r"\bok\b"))
    editor.fill("#preview-question", "补办身份证要多少钱")
    editor.click("#preview-submit")
    expect(editor.locator("#preview-reply")).to_contain_text("浏览器测试改")
    editor.click("#draft-publish")
    expect(editor.locator("#record-version")).to_contain_text(str(version + 1))
    _shot(editor, "editor-console")

    citizen = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    citizen.goto(f"{staff.api_url}/")
    citizen.fill("#text", "补办身份证要交多少钱")
    citizen.click("#send")
    answer = citizen.locator(".msg.bot[data-id]").last
    expect(answer).to_contain_text("浏览器测试改", timeout=30_000)
    expect(answer).to_contain_text(f"第{version + 1}版")
