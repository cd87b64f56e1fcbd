"""Turn latency through ``/api/chat``: the citizen's wait, measured end to end.

Starts an instance of its own (own home and ports; shared venvs, model and
trained Rasa model), plays every script in ``bench/scripts.py`` a few times,
one conversation at a time, and writes p50/p95 per script and overall to
docs/benchmarks.md. Concurrency is the load generator's job, not this one's.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench.clients import ONE_ADDRESS_MANY_CITIZENS
from bench.report import machine, table, write_section
from bench.scripts import SCRIPTS, Click, Turn
from daoban import processes
from daoban.logging_setup import configure_logging
from daoban.ports import PortPicker
from daoban.rasa_model import model_path
from daoban.settings import Settings, load_settings
from daoban.setup_steps import run_setup

logger = logging.getLogger(__name__)


def play(client: httpx.Client, sender: str, script: list[Turn]) -> list[float]:
    """Send the script's turns as a new citizen (``sender`` names it in errors); returns each turn's latency in ms.
    Raises on any non-200 reply."""
    client.cookies.clear()  # the server issues the new conversation its own id
    timings: list[float] = []
    buttons: list[dict] = []
    for turn in script:
        if isinstance(turn, Click):
            button = next((b for b in buttons if turn.contains in b["title"]), None)
            if button is None:
                raise RuntimeError(f"{sender}: no button containing {turn.contains!r} in {buttons}")
            text = button["payload"]
        else:
            text = turn
        started = time.perf_counter()
        response = client.post("/api/chat", json={"text": text})
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        messages = response.json()["messages"]
        buttons = [b for m in messages for b in m["buttons"]]
    return timings


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def measure(settings: Settings, rounds: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {name: [] for name in SCRIPTS}
    with httpx.Client(base_url=settings.api_url, timeout=60) as client:
        play(client, "warm-up", SCRIPTS["materials-and-follow-ups"])
        for round_no in range(rounds):
            for name, script in SCRIPTS.items():
                results[name] += play(client, f"bench-{name}-{round_no}", script)
    return results


def report(results: dict[str, list[float]], rounds: int) -> str:
    rows = []
    for name, values in [*results.items(), ("all turns", [v for vs in results.values() for v in vs])]:
        rows.append([name, len(values), f"{statistics.median(values):.0f}", f"{percentile(values, 0.95):.0f}",
                     f"{max(values):.0f}"])
    return (
        "## Chat turn latency (`/api/chat` → Rasa → actions → retrieval)\n\n"
        f"Machine: {machine()}. One conversation at a time, {rounds} rounds of each script in "
        "`bench/scripts.py`, after one warm-up conversation; embedded mode (SQLite). Latency in ms as the "
        "citizen's client sees it.\n\n"
        + table(["script", "turns", "p50", "p95", "max"], rows)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    configure_logging("INFO")
    with tempfile.TemporaryDirectory(prefix="daoban-bench-") as home:
        shared, ports = load_settings(), PortPicker()
        settings = load_settings(home=Path(home), cache_dir=shared.cache_dir, api_port=ports.free_port(),
                                 rasa_port=ports.free_port(), actions_port=ports.free_port(), **ONE_ADDRESS_MANY_CITIZENS)
        run_setup(settings)
        processes.start(settings, processes.process_specs(settings, model_path(settings)))
        try:
            processes.wait_healthy(settings, timeout_s=480)
            results = measure(settings, args.rounds)
        finally:
            processes.stop(settings)
    body = report(results, args.rounds)
    write_section("chat-turns", body)
    logger.info("\n%s", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
