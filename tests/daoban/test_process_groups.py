"""A service's main process killed alone must not leave its worker on the port.

The action server's Sanic worker outlives its parent killed with SIGKILL and
keeps the port: the supervisor then restarted the server into "address already
in use" for ever, and ``stop`` left the worker running. The services here are
``PORT_HOLDER``s: a main process whose worker child listens on the port.
"""

import logging
import os
import signal
import sys
import threading

from daoban import processes
from daoban.processes import ProcessSpec, group_members
from daoban.supervisor import Supervisor
from tests.processes_util import listener_pid, port_free, port_holder_argv, process_group, wait_until


def _holder(name, port, tmp_path, stubborn=False):
    return ProcessSpec(name, port_holder_argv(sys.executable, port, stubborn), {}, tmp_path)


def _served_anew(settings, name, port, killed):
    """The pid of a worker on ``port`` in the group of ``name``'s new main process, once there is one."""
    main = processes.running_pid(settings, name)
    worker = listener_pid(port)
    if main in (None, killed) or worker is None:
        return None
    return worker if process_group(worker) == main else None


def _worker_of(settings, name, port):
    worker = wait_until(lambda: listener_pid(port), 20)
    main = processes.running_pid(settings, name)
    assert worker is not None and worker != main and process_group(worker) == main, (main, worker)
    return main, worker


def test_each_main_process_killed_alone_frees_its_port_and_comes_back(settings, tmp_path):
    ports = {"one": settings.actions_port, "two": settings.rasa_port}
    processes.start(settings, {name: _holder(name, port, tmp_path) for name, port in ports.items()})
    try:
        for name, port in ports.items():
            main, worker = _worker_of(settings, name, port)
            os.kill(main, signal.SIGKILL)  # the main process alone: its worker lives on, on the port
            assert wait_until(lambda: _served_anew(settings, name, port, main), 30), f"{name} is not back"
            assert process_group(worker) is None  # the orphaned worker was ended, not left beside the new one
        log = (settings.logs_dir / "supervisor.log").read_text()
        for name in ports:
            assert f"{name} left 1 process(es) in its group" in log
            assert f"restarting {name} (restart 1)" in log and f"restarting {name} (restart 2)" not in log
        groups = {name: processes.running_pid(settings, name) for name in ports}
    finally:
        stopped = processes.stop(settings, grace_s=5)
    assert sorted(stopped) == ["one", "two"]
    assert all(group_members(group) == [] for group in groups.values())
    assert all(port_free(port) for port in ports.values())


def test_stop_ends_a_group_whose_main_process_is_already_dead(settings, tmp_path):
    port = settings.actions_port
    processes.start(settings, {"one": _holder("one", port, tmp_path, stubborn=True)})
    supervisor = processes.running_pid(settings, processes.SUPERVISOR)
    os.killpg(supervisor, signal.SIGKILL)  # nobody left to restart or clean up
    main, worker = _worker_of(settings, "one", port)
    os.kill(main, signal.SIGKILL)
    assert wait_until(lambda: process_group(main) is None, 10)

    assert processes.stop(settings, grace_s=1) == ["one"]  # the worker ignores SIGTERM: SIGKILL after the grace
    assert process_group(worker) is None and group_members(main) == []
    assert port_free(port)
    assert not any(settings.run_dir.glob("*.pid"))


def test_a_worker_deaf_to_sigterm_is_killed_before_the_restart(settings, tmp_path, caplog):
    port = settings.actions_port
    specs = {"one": _holder("one", port, tmp_path, stubborn=True)}
    supervisor = Supervisor(settings, specs, ["one"], leftover_grace_s=0.5, stop_grace_s=0.5)
    running = threading.Thread(target=supervisor.run, daemon=True)
    caplog.set_level(logging.INFO, logger="daoban")
    running.start()
    try:
        main, worker = _worker_of(settings, "one", port)
        os.kill(main, signal.SIGKILL)
        assert wait_until(lambda: _served_anew(settings, "one", port, main), 30)
        assert process_group(worker) is None
        assert "one: what it left did not stop in" in caplog.text
        restarted = processes.running_pid(settings, "one")
    finally:
        supervisor.stop()
        running.join(timeout=30)
    assert not running.is_alive()
    assert group_members(restarted) == [] and port_free(port)  # stubborn at stop too: killed after the grace
    assert not any(settings.run_dir.glob("*.pid"))


def test_a_stale_pid_file_from_before_the_last_boot_is_not_acted_on(settings):
    settings.run_dir.mkdir(parents=True)
    processes.pid_file(settings, "one").write_text(str(os.getpgrp()))  # this test's own group: must survive
    processes.boot_id_file(settings).write_text("a-boot-long-ago\n")
    assert processes.running_pid(settings, "one") is None
    assert processes.stop(settings, grace_s=1) == []
    assert not processes.pid_file(settings, "one").exists()
