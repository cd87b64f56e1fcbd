"""A load generator of our own: N concurrent citizens playing realistic scripts through ``/api/chat``.

Bounded in count and time, loopback only. Starts an instance of its own
(embedded or production mode), runs each concurrency level for a fixed time
with every simulated citizen replaying scripts from ``bench/scripts.py``
(questions, follow-ups, a booking), and reports turns per second, p50/p95/p99
latency, errors and memory per process to docs/benchmarks.md.

    python -m bench.load --levels 10 50 200 --seconds 120 [--mode production] [--typed 0 0 --click 0 0]

Citizens pause before each turn as people do (reading, typing: ``Pace``);
``--typed 0 0 --click 0 0`` removes the pauses to find the saturation point.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx

from bench.chat_latency import percentile
from bench.clients import ONE_ADDRESS_MANY_CITIZENS
from bench.report import machine, table, write_section
from bench.scripts import SCRIPTS, Click
from daoban import processes
from daoban.logging_setup import configure_logging
from daoban.ports import PortPicker
from daoban.rasa_model import model_path
from daoban.settings import Settings, load_settings
from daoban.setup_steps import run_setup
from service.citizens import CITIZEN_COOKIE

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


@dataclass(frozen=True)
class Pace:
    """How long a citizen takes before each turn: reading the answer and typing (or tapping) the next one.

    A typed turn takes ``typed_s`` (a range, drawn uniformly), pressing a button
    ``click_s``; 0-0 for both is the saturation test, every citizen sending
    again as soon as the answer is back.
    """

    typed_s: tuple[float, float] = (8.0, 20.0)
    click_s: tuple[float, float] = (3.0, 8.0)

    @property
    def thinking(self) -> bool:
        return max(self.typed_s + self.click_s) > 0


async def citizen(client: httpx.AsyncClient, number: int, deadline: float, result: LevelResult,
                  pace: Pace, rng: random.Random) -> None:
    """One simulated citizen: scripts one after another until the deadline, each as a new conversation."""
    names = itertools.cycle(sorted(SCRIPTS))
    if pace.thinking:  # citizens do not all arrive in the same second
        await asyncio.sleep(rng.uniform(0, pace.typed_s[1]))
    for round_no in itertools.count():
        name = next(names)
        cookie: str | None = None  # a new conversation: the server issues its id on the first message
        buttons: list[dict] = []
        for turn in SCRIPTS[name]:
            if isinstance(turn, Click):
                # an empty Click (a day, a slot) takes any offered one, as citizens spread over the calendar
                offered = [b for b in buttons if turn.contains in b["title"]]
                if not offered:
                    result.error("expected button missing")
                    break
                button = offered[0] if turn.contains else rng.choice(offered)
                text = button["payload"]
                await asyncio.sleep(rng.uniform(*pace.click_s))
            else:
                text = turn
                await asyncio.sleep(rng.uniform(*pace.typed_s))
            if time.monotonic() >= deadline:
                return
            started = time.perf_counter()
            try:
                # the client is shared by every citizen: each sends its own cookie (none, the first time), never
                # the client's jar (an explicit Cookie header keeps httpx from adding the jar's)
                own = f"{CITIZEN_COOKIE}={cookie}" if cookie else ""
                response = await client.post("/api/chat", json={"text": text}, headers={"Cookie": own})
                cookie = response.cookies.get(CITIZEN_COOKIE) or cookie
            except httpx.HTTPError as exc:
                result.error(exc.__class__.__name__)
                break
            result.latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                result.error(f"HTTP {response.status_code}")
                break
            buttons = [b for m in response.json()["messages"] for b in m["buttons"]]


async def run_level(base_url: str, concurrency: int, seconds: float, pace: Pace, seed: int = 20261122) -> LevelResult:
    result = LevelResult(concurrency, seconds)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(citizen(client, n, deadline, result, pace, random.Random(seed + n))
                               for n in range(concurrency)))
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


def report(mode: str, results: list[LevelResult], memory: dict[str, float], pace: Pace) -> str:
    rows = []
    for r in results:
        n = len(r.latencies)
        rows.append([
            r.concurrency, f"{r.seconds:.0f}", n, f"{n / r.seconds:.1f}",
            *(f"{percentile(r.latencies, q):.0f}" if n else "–" for q in (0.5, 0.95, 0.99)),
            sum(r.errors.values()), ", ".join(f"{k}: {v}" for k, v in r.errors.items()) or "–",
        ])
    mem = ", ".join(f"{name} {mib:.0f}" for name, mib in memory.items())
    if pace.thinking:
        how = (f"before each turn a citizen reads and types for {pace.typed_s[0]:.0f}-{pace.typed_s[1]:.0f} s, or "
               f"taps a button after {pace.click_s[0]:.0f}-{pace.click_s[1]:.0f} s (uniform, seeded)")
        title, flag = "with citizens' reading and typing time", ""
    else:
        how = "no pause between turns: every citizen sends again as soon as its answer is back (saturation)"
        title, flag = "saturation, no pauses", " --typed 0 0 --click 0 0"
    return (
        f"## Load: concurrent conversations through `/api/chat` ({mode} mode, {title})\n\n"
        f"Machine: {machine()}. `python -m bench.load --mode {mode}{flag}`: each simulated citizen replays the "
        "scripts in `bench/scripts.py` (questions, follow-ups, a booking, out of scope) as new conversations "
        f"until the level's time is up; {how}. A day or slot is picked at random among those offered. Latency "
        "per turn in ms, loopback only. Memory after the run "
        f"(RSS MiB per process with its workers): {mem}.\n\n"
        + table(["concurrent", "s", "turns", "turns/s", "p50", "p95", "p99", "errors", "error kinds"], rows)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--mode", choices=["embedded", "production"], default="embedded")
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/daoban_load")
    parser.add_argument("--base-url", help="measure an instance that is already running (loopback only)")
    parser.add_argument("--typed", type=float, nargs=2, default=[8.0, 20.0], metavar=("MIN", "MAX"),
                        help="seconds a citizen takes to read and type a turn")
    parser.add_argument("--click", type=float, nargs=2, default=[3.0, 8.0], metavar=("MIN", "MAX"),
                        help="seconds before pressing a button")
    args = parser.parse_args(argv)
    pace = Pace(typed_s=tuple(args.typed), click_s=tuple(args.click))
    if any(low < 0 or high < low for low, high in (pace.typed_s, pace.click_s)):
        parser.error("pauses must be 0 <= MIN <= MAX")
    if any(not 1 <= level <= MAX_CONVERSATIONS for level in args.levels) or not 1 <= args.seconds <= MAX_SECONDS:
        parser.error(f"levels must be 1-{MAX_CONVERSATIONS} and seconds 1-{MAX_SECONDS}")
    if args.base_url and urlparse(args.base_url).hostname not in LOOPBACK:
        parser.error("the load generator only talks to loopback addresses")
    configure_logging("INFO")
    if args.base_url:
        results = [asyncio.run(run_level(args.base_url, level, args.seconds, pace)) for level in args.levels]
        body = report(args.mode, results, {}, pace)
    else:
        with tempfile.TemporaryDirectory(prefix="daoban-load-") as home:
            shared, ports = load_settings(), PortPicker()
            if args.mode == "production":  # replicas take consecutive ports from these
                extra: dict = {"database_url": args.database_url, "rasa_port": 18005, "actions_port": 18055}
            else:
                extra = {"rasa_port": ports.free_port(), "actions_port": ports.free_port()}
            settings = load_settings(home=Path(home), cache_dir=shared.cache_dir, api_port=ports.free_port(),
                                     mode=args.mode, **extra, **ONE_ADDRESS_MANY_CITIZENS)
            run_setup(settings)
            processes.start(settings, processes.process_specs(settings, model_path(settings)))
            try:
                processes.wait_healthy(settings, timeout_s=600)
                results = [asyncio.run(run_level(settings.api_url, level, args.seconds, pace)) for level in args.levels]
                memory = memory_by_process(settings)
            finally:
                processes.stop(settings)
        body = report(args.mode, results, memory, pace)
    write_section(f"load-{args.mode}" + ("" if pace.thinking else "-saturation"), body)
    logger.info("\n%s", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
