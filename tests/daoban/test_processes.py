import json
import os
import signal
import stat as file_stat
import subprocess
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


def test_rasa_listens_on_loopback_and_asks_for_a_token_only_the_api_is_given(settings, tmp_path, monkeypatch):
    monkeypatch.setattr(processes, "rasa_executable", lambda _settings: tmp_path / "venv-rasa" / "bin" / "rasa")
    exposed = settings.model_copy(update={"host": "0.0.0.0"})  # the API open to the hall's network
    specs = processes.process_specs(exposed, tmp_path / "model.tar.gz")

    argv = specs["rasa"].argv
    assert argv[0] == str(tmp_path / "venv-rasa" / "bin" / "python")
    assert argv[argv.index("-i") + 1] == "127.0.0.1" and "--enable-api" in argv
    token_file = processes.rasa_token_file(exposed)
    token = token_file.read_text().strip()
    assert len(token) >= 40
    assert file_stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert not any(token in arg for arg in argv)  # the command line is anyone's to read (ps)
    assert specs["api"].env[processes.RASA_TOKEN_ENV] == token
    assert specs["actions"].env.get(processes.RASA_TOKEN_ENV) != token
    assert processes.loopback_rasa_urls(exposed) == [f"http://127.0.0.1:{exposed.rasa_port}"]

    token_file.chmod(0o644)
    again = processes.process_specs(exposed, tmp_path / "model.tar.gz")  # a second start: the same token
    assert again["api"].env[processes.RASA_TOKEN_ENV] == token
    assert file_stat.S_IMODE(token_file.stat().st_mode) == 0o600

    other = settings.model_copy(update={"home": tmp_path / "other-home"})
    assert processes.rasa_token(other) != token  # made per home, at random


def test_rasa_gets_the_token_from_its_file_as_auth_token(tmp_path):
    fake = tmp_path / "fake" / "rasa"  # stands for Rasa: prints the arguments its command line parser would read
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "__main__.py").write_text("import json, sys\n\ndef main():\n    print(json.dumps(sys.argv))\n")
    (tmp_path / "token").write_text("s3cret\n")
    out = subprocess.run([sys.executable, "-c", processes.RASA_WITH_TOKEN, str(tmp_path / "token"), "run",
                          "--enable-api", "-i", "127.0.0.1"], env={"PYTHONPATH": str(tmp_path / "fake")},
                         capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(out.stdout) == ["rasa", "run", "--enable-api", "-i", "127.0.0.1", "--auth-token", "s3cret"]


def test_forwarded_for_is_believed_only_from_configured_proxies_and_workers_share_a_citizen_key(settings, tmp_path,
                                                                                               monkeypatch):
    monkeypatch.setattr(processes, "rasa_executable", lambda _settings: tmp_path / "venv-rasa" / "bin" / "rasa")
    api = processes.process_specs(settings, tmp_path / "model.tar.gz")["api"]
    assert "--no-proxy-headers" in api.argv and "--forwarded-allow-ips" not in api.argv
    key = api.env[processes.CITIZEN_KEY_ENV]
    assert len(key) >= 40 and file_stat.S_IMODE(processes.citizen_key_file(settings).stat().st_mode) == 0o600
    assert not any(key in arg for arg in api.argv)

    proxied = settings.model_copy(update={"trusted_proxies": "10.0.0.5, 10.0.0.6"})
    argv = processes.process_specs(proxied, tmp_path / "model.tar.gz")["api"].argv
    assert argv[argv.index("--forwarded-allow-ips") + 1] == "10.0.0.5,10.0.0.6" and "--proxy-headers" in argv
    assert processes.process_specs(proxied, tmp_path / "model.tar.gz")["api"].env[processes.CITIZEN_KEY_ENV] == key
