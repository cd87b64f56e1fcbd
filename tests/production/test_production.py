"""The production topology survives its processes dying: conversations go on, nothing is lost or doubled.

Every test talks to the instance the way a citizen's browser does, through the
API's port (two uvicorn workers); processes are killed with SIGKILL, as the
kernel's OOM killer or a crash would, and the supervisor brings them back.
The tests run in file order: later ones expect what earlier ones killed to be
coming back.
"""

from __future__ import annotations

import os
import re
import signal
import zlib

import httpx
import pytest
from sqlalchemy import func, select

from daoban import processes
from daoban.processes import citizen_key
from hall.bookings import BookingBook
from hall.tables import BookingRow, TicketRow
from knowledge.database import make_engine
from service.citizens import CITIZEN_COOKIE, CitizenCookies
from tests.processes_util import live_processes, wait_until

pytestmark = pytest.mark.production

PHONE = "13812345678"


class Citizen:
    """One person in the web chat: says things, presses buttons of the last reply."""

    def __init__(self, settings, sender: str) -> None:
        self.url = f"{settings.api_url}/api/chat"
        self.sender = sender
        self.buttons: list[dict] = []
        # the test picks the id (to land on a given Rasa server), so it signs the cookie as the instance would
        signed = CitizenCookies(citizen_key(settings).encode("utf-8")).sign(sender)
        self.cookies = {CITIZEN_COOKIE: signed}

    def send(self, text: str) -> httpx.Response:
        return httpx.post(self.url, json={"text": text}, cookies=self.cookies, timeout=90)

    def say(self, text: str) -> str:
        response = self.send(text)
        assert response.status_code == 200, response.text
        messages = response.json()["messages"]
        assert messages, f"no reply to {text!r}"
        self.buttons = [b for m in messages for b in m["buttons"]]
        return "\n".join(m["text"] for m in messages)

    def click(self, contains: str = "") -> str:
        button = next((b for b in self.buttons if contains in b["title"]), None)
        assert button is not None, (contains, self.buttons)
        return self.say(button["payload"])

    def book_up_to_confirmation(self) -> str:
        self.say("我想预约办居住证")
        assert "哪个大厅" in self.click("居住证申领")
        self.click("青山区")
        assert "可预约的时段" in self.click()
        assert "姓名" in self.click()
        assert "手机" in self.say("我叫王秀英")
        return self.say(PHONE)


def sender_on(server: int, name: str) -> str:
    """A sender id the API sends to Rasa server ``server`` (0-based), as RasaClient hashes them."""
    for n in range(1000):
        sender = f"web-prod-{name}-{n}"
        if zlib.crc32(sender.encode()) % 2 == server:
            return sender
    raise AssertionError("unreachable")


def kill(settings, name: str) -> int:
    pid = processes.running_pid(settings, name)
    assert pid is not None, f"{name} is not running"
    os.killpg(pid, signal.SIGKILL)
    return pid


def wait_for(condition, timeout_s: float, what: str):
    value = wait_until(condition, timeout_s, interval_s=1.0)
    assert value, f"timed out after {timeout_s:.0f}s waiting for {what}"
    return value


def restarted(settings, name: str, old_pid: int) -> bool:
    pid = processes.running_pid(settings, name)
    return pid is not None and pid != old_pid


@pytest.fixture(scope="module")
def database(production):
    """The instance's PostgreSQL database, read as a clerk or an agent would find it."""
    engine = make_engine(production.sqlalchemy_url)
    yield engine
    engine.dispose()


def bookings_of(database, sender: str) -> list:
    with database.connect() as connection:
        return list(connection.execute(select(BookingRow).where(BookingRow.sender_id == sender)))


def api_workers(settings) -> list[int]:
    """uvicorn's worker processes (not multiprocessing's resource tracker, also its child)."""
    master = processes.running_pid(settings, "api")
    return sorted(p.pid for p in live_processes() if p.ppid == master and b"spawn_main" in p.cmdline)


def test_every_server_is_up_and_conversations_are_shared_between_them(production):
    health = httpx.get(f"{production.api_url}/healthz", timeout=30).json()
    assert health["status"] == "ok", health
    assert health["components"]["actions"]["detail"].startswith("2 action server")
    assert len(api_workers(production)) == 2
    for server in (0, 1):
        answer = Citizen(production, sender_on(server, "ask")).say("办理居住证需要什么材料？")
        assert "居住证" in answer and "第" in answer and "版" in answer, answer  # names the guide and its version


def test_a_rasa_server_killed_mid_booking_and_the_other_carries_on_from_the_stored_tracker(production, database):
    citizen = Citizen(production, sender_on(0, "rasa-killed"))
    citizen.say("我想预约办居住证")
    citizen.click("居住证申领")
    citizen.click("青山区")
    assert "可预约的时段" in citizen.click()

    killed = kill(production, "rasa-1")
    assert "姓名" in citizen.click()  # rasa-2 took the message, with the form where rasa-1 left it
    assert "手机" in citizen.say("我叫王秀英")
    summary = citizen.say(PHONE)
    assert "居住证申领" in summary and "138****5678" in summary
    done = citizen.say("确认")
    assert "预约成功" in done and re.search(r"YY[2-9A-HJ-NP-Z]{10}", done), done
    assert len(bookings_of(database, citizen.sender)) == 1
    wait_for(lambda: restarted(production, "rasa-1", killed), 30, "the supervisor to start rasa-1 again")


def test_an_action_server_killed_before_the_confirmation_gives_try_again_and_no_lost_or_double_booking(
        production, database):
    citizen = Citizen(production, sender_on(1, "actions-killed"))
    assert "确认" in citizen.book_up_to_confirmation()

    killed = kill(production, "actions-2")
    failed = citizen.send("确认")
    assert failed.status_code == 503 and "稍后再试" in failed.json()["detail"], failed.text
    assert bookings_of(database, citizen.sender) == []

    wait_for(lambda: restarted(production, "actions-2", killed), 30, "the supervisor to start actions-2 again")
    actions_url = production.actions_urls[1]
    wait_for(lambda: _ok(f"{actions_url}/health"), 180, "actions-2 to answer")
    done = citizen.say("确认")  # the citizen tries again, as told: the form is still waiting for it
    reference = re.search(r"YY[2-9A-HJ-NP-Z]{10}", done)
    assert "预约成功" in done and reference, done
    assert [row.reference for row in bookings_of(database, citizen.sender)] == [reference.group(0)]

    assert BookingBook(database).find(reference.group(0), PHONE).name == "王秀英"


def test_an_api_worker_killed_is_replaced_and_the_other_keeps_answering(production):
    before = api_workers(production)
    assert len(before) == 2
    os.kill(before[0], signal.SIGKILL)
    citizen = Citizen(production, sender_on(1, "api-killed"))
    answers = [citizen.send("你好") for _ in range(6)]
    assert all(r.status_code == 200 and r.json()["messages"] for r in answers), [r.status_code for r in answers]
    wait_for(lambda: len(api_workers(production)) == 2 and api_workers(production) != before, 60,
               "uvicorn to replace the killed worker")


def test_a_hand_over_asked_twice_opens_one_ticket_in_postgres(production, database):
    citizen = Citizen(production, sender_on(1, "handover"))
    citizen.say("居住证要带什么材料")
    first = citizen.send("转人工")
    again = citizen.send("转人工")
    assert first.status_code == 200 and again.status_code == 200
    number = re.search(r"BB[0-9A-Z]{8}", first.json()["messages"][-1]["text"])
    assert number and again.json()["handover"]["ticket"] == number.group(0)
    with database.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(TicketRow)
                                  .where(TicketRow.sender_id == citizen.sender))
    assert count == 1


def test_every_killed_process_is_back_and_healthy(production):
    wait_for(lambda: _ok(f"{production.api_url}/healthz"), 300, "every component to be healthy again")


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False
