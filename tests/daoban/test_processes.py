import os
import signal
import stat as file_stat
import sys
import time

from daoban import processes
from daoban.processes import ProcessSpec
from tests.processes_util import live_processes, wait_until


def _sleeper(name, tmp_path):
    # a child that starts a grandchild: stop must end the whole process group
    code = "import subprocess, time; subprocess.Popen(['sleep', '300']); time.sleep(300)"
    return ProcessSpec(name, [sys.executable, "-c", code], {}, tmp_path)


def _live_members(group: int) -> list[int]:
    return [p.pid for p in live_processes() if p.pgrp == group]


def test_start_writes_pids_and_logs_and_stop_ends_the_group(settings, tmp_path, monkeypatch):
    monkeypatch.setattr(processes, "ORDER", ("one", "two"))
    specs = {"one": _sleeper("one", tmp_path), "two": _sleeper("two", tmp_path)}
    processes.start(settings, specs)
    pids = {name: processes.running_pid(settings, name) for name in ("one", "two")}
    assert all(pids.values())
    assert (settings.logs_dir / "one.log").exists()

    processes.start(settings, specs)  # already running: nothing new
    assert {name: processes.running_pid(settings, name) for name in ("one", "two")} == pids

    assert processes.stop(settings, grace_s=5) == ["two", "one"]
    assert all(processes.running_pid(settings, name) is None for name in ("one", "two", "supervisor"))
    time.sleep(0.5)
    for pid in pids.values():  # the grandchildren went with their group
        assert _live_members(pid) == []
    assert not any(settings.run_dir.glob("*.pid"))


def test_a_killed_child_is_started_again_and_stop_still_ends_everything(settings, tmp_path):
    specs = {"one": _sleeper("one", tmp_path), "two": _sleeper("two", tmp_path)}
    processes.start(settings, specs)
    first = processes.running_pid(settings, "one")
    untouched = processes.running_pid(settings, "two")
    os.killpg(first, signal.SIGKILL)
    assert wait_until(lambda: processes.running_pid(settings, "one") not in (None, first), 20)
    assert processes.running_pid(settings, "two") == untouched
    assert "one exited" in (settings.logs_dir / "supervisor.log").read_text()
    restarted = processes.running_pid(settings, "one")
    assert sorted(processes.stop(settings, grace_s=5)) == ["one", "two"]
    time.sleep(0.5)
    assert _live_members(restarted) == [] and _live_members(untouched) == []
    assert not any(settings.run_dir.glob("*.pid"))


def test_the_specs_file_is_private(settings, tmp_path):
    processes.start(settings, {"one": _sleeper("one", tmp_path)})
    try:
        assert file_stat.S_IMODE((settings.run_dir / "specs.json").stat().st_mode) == 0o600
    finally:
        processes.stop(settings, grace_s=5)


def test_stop_with_nothing_running_is_harmless(settings):
    assert processes.stop(settings) == []


def test_rasa_endpoints_follow_the_ports(settings):
    text = processes.write_rasa_endpoints(settings).read_text()
    assert f"http://127.0.0.1:{settings.actions_port}/webhook" in text
    assert str(settings.home) in text


def test_children_get_exactly_these_settings(settings, tmp_path, monkeypatch):
    env = processes.settings_env(settings)
    assert env["DAOBAN_HOME"] == str(settings.home)
    assert env["DAOBAN_RASA_PORT"] == str(settings.rasa_port)
    assert env["HF_HUB_OFFLINE"] == "1"
    # every setting the caller gave reaches the children, not only the usual few (a WeChat token set in code
    # once left the API without its channel), and each child reads back the same settings
    from daoban.settings import Settings

    given = settings.model_copy(update={"wechat_token": "tok", "halls_file": tmp_path / "halls.json",
                                        "handover_reply_minutes": 45})
    child_env = processes.settings_env(given)
    for key, value in child_env.items():
        if key.startswith("DAOBAN_"):
            monkeypatch.setenv(key, value)
    assert Settings() == given
