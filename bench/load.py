"""A load generator of our own: N concurrent citizens playing realistic scripts through ``/api/chat``.

Bounded in count and time, loopback only. Starts an instance of its own
(embedded or production mode), runs each concurrency level for a fixed time
with every simulated citizen replaying scripts from ``bench/scripts.py``
(questions, follow-ups, a booking), and reports turns per second, p50/p95/p99
latency, errors and memory per process to docs/benchmarks.md.

    python -m bench.load --levels 10 50 200 --seconds 60 [--mode production]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx

from bench.chat_latency import free_port, percentile
from bench.report import machine, table, write_section
from bench.scripts import SCRIPTS, Click
from daoban import processes
from daoban.logging_setup import configure_logging
from daoban.rasa_model import model_path
from daoban.settings import Settings, load_settings
from daoban.setup_steps import run_setup

logger = logging.getLogger(__name__)
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_CONVERSATIONS = 500
MAX_SECONDS = 600


@dataclass
class LevelResult:
    concurrency: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


async def citizen(client: httpx.AsyncClient, number: int, deadline: float, result: LevelResult) -> None:
    """One simulated citizen: scripts one after another until the deadline, each as a new conversation."""
    names = itertools.cycle(sorted(SCRIPTS))
    for round_no in itertools.count():
        name = next(names)
        sender = f"load-{number}-{round_no}-{name}"
        buttons: list[dict] = []
        for turn in SCRIPTS[name]:
            if time.monotonic() >= deadline:
                return
            if isinstance(turn, Click):
                button = next((b for b in buttons if turn.contains in b["title"]), None)
                if button is None:
                    result.error("expected button missing")
                    break
                text = button["payload"]
            else:
                text = turn
            started = time.perf_counter()
            try:
                response = await client.post("/api/chat", json={"sender_id": sender, "text": text})
            except httpx.HTTPError as exc:
                result.error(exc.__class__.__name__)
                break
            result.latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                result.error(f"HTTP {response.status_code}")
                break
            buttons = [b for m in response.json()["messages"] for b in m["buttons"]]


async def run_level(base_url: str, concurrency: int, seconds: float) -> LevelResult:
    result = LevelResult(concurrency, seconds)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(citizen(client, n, deadline, result) for n in range(concurrency)))
    return result


def memory_by_process(settings: Settings) -> dict[str, float]:
    """Resident memory (MiB) of each started process with its children (uvicorn workers, Sanic)."""
    out: dict[str, float] = {}
    for pid_file in sorted(settings.run_dir.glob("*.pid")):
        pid = int(pid_file.read_text())
        total = 0
        for status in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = status.read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) != pid:  # same process group (each process is started in its own session)
                    continue
                for line in (status.parent / "status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except (OSError, ValueError, IndexError):
                continue
        out[pid_file.stem] = total / 1024
    return out


def report(mode: str, results: list[LevelResult], memory: dict[str, float]) -> str:
    rows = []
    for r in results:
        n = len(r.latencies)
        rows.append([
            r.concurrency, f"{r.seconds:.0f}", n, f"{n / r.seconds:.1f}",
            *(f"{percentile(r.latencies, q):.0f}" if n else "–" for q in (0.5, 0.95, 0.99)),
            sum(r.errors.values()), ", ".join(f"{k}: {v}" for k, v in r.errors.items()) or "–",
        ])
    mem = ", ".join(f"{name} {mib:.0f}" for name, mib in memory.items())
    return (
        f"## Load: concurrent conversations through `/api/chat` ({mode} mode)\n\n"
        f"Machine: {machine()}. `python -m bench.load --mode {mode}`: each simulated citizen replays the "
        "scripts in `bench/scripts.py` (questions, follow-ups, a booking, out of scope) as new conversations "
        "until the level's time is up; latency per turn in ms; loopback only. Memory after the run "
        f"(RSS MiB per process with its workers): {mem}.\n\n"
        + table(["concurrent", "s", "turns", "turns/s", "p50", "p95", "p99", "errors", "error kinds"], rows)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--mode", choices=["embedded", "production"], default="embedded")
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/daoban_load")
    parser.add_argument("--base-url", help="measure an instance that is already running (loopback only)")
    args = parser.parse_args(argv)
    if any(not 1 <= level <= MAX_CONVERSATIONS for level in args.levels) or not 1 <= args.seconds <= MAX_SECONDS:
        parser.error(f"levels must be 1-{MAX_CONVERSATIONS} and seconds 1-{MAX_SECONDS}")
    if args.base_url and urlparse(args.base_url).hostname not in LOOPBACK:
        parser.error("the load generator only talks to loopback addresses")
    configure_logging("INFO")
    if args.base_url:
        results = [asyncio.run(run_level(args.base_url, level, args.seconds)) for level in args.levels]
        body = report(args.mode, results, {})
    else:
        with tempfile.TemporaryDirectory(prefix="daoban-load-") as home:
            shared = load_settings()
            if args.mode == "production":  # replicas take consecutive ports from these
                extra: dict = {"database_url": args.database_url, "rasa_port": 18005, "actions_port": 18055}
            else:
                extra = {"rasa_port": free_port(), "actions_port": free_port()}
            settings = load_settings(home=Path(home), cache_dir=shared.cache_dir, api_port=free_port(),
                                     mode=args.mode, **extra)
            run_setup(settings)
            processes.start(settings, processes.process_specs(settings, model_path(settings)))
            try:
                processes.wait_healthy(settings, timeout_s=600)
                results = [asyncio.run(run_level(settings.api_url, level, args.seconds)) for level in args.levels]
                memory = memory_by_process(settings)
            finally:
                processes.stop(settings)
        body = report(args.mode, results, memory)
    write_section(f"load-{args.mode}", body)
    logger.info("\n%s", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
