"""`make bench`: run every script in benchmarks/ once, on this machine, and write docs/benchmarks.md from the run.

    .venv/bin/python -m devstack.bench [--only NAME ...] [--output docs/benchmarks.md]

Each benchmark prints its figures beside a baseline measured in the same run; the report keeps that output
verbatim, with the machine it ran on, and a table for the system benchmark (figure, floor, ratio, target).
Everything below the KEPT marker of the existing report is carried over untouched (notes written by hand).
"""

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KEPT = "<!-- KEPT: written by hand; `make bench` carries everything below this line over unchanged -->"
# Arguments chosen to keep one run within about 15 minutes on 2 cores; `--help` of each script gives the rest.
ARGUMENTS: dict[str, list[str]] = {
    "indicators_freshness.py": ["--skip-before", "--probes", "30"],
}
TIMEOUT_S = 1200
PROGRESS = re.compile(r"^\s*loaded\s+[\d,]+ items")


@dataclass
class Outcome:
    script: str
    argv: list[str]
    seconds: float
    returncode: int | None  # None: stopped at the timeout
    output: str

    @property
    def result(self) -> dict[str, Any] | None:
        """The `RESULT {json}` line a benchmark may print last, for the report's tables."""
        for line in reversed(self.output.splitlines()):
            if line.startswith("RESULT "):
                return json.loads(line.removeprefix("RESULT "))  # type: ignore[no-any-return]
        return None


def machine() -> list[str]:
    """What the figures depend on: cores, memory, Python, the operating system."""
    memory_kb = 0
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    return [f"cores: {os.cpu_count()} ({platform.machine()}, shared with other work on the machine)",
            f"memory: {memory_kb / 1024 / 1024:.1f} GiB",
            f"Python: {platform.python_version()} ({platform.python_implementation()})",
            f"system: {platform.system()} {platform.release()}"]


def run_one(script: Path, timeout_s: float) -> Outcome:
    argv = [sys.executable, str(script.relative_to(ROOT)), *ARGUMENTS.get(script.name, [])]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    print(f"== {' '.join(argv[1:])}", flush=True)
    try:
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s)
        output, code = done.stdout + (f"\n[stderr]\n{done.stderr[-3000:]}" if done.returncode else ""), done.returncode
    except subprocess.TimeoutExpired as stopped:
        output = (stopped.stdout or b"").decode() if isinstance(stopped.stdout, bytes) else (stopped.stdout or "")
        code = None
    outcome = Outcome(script.name, argv[1:], time.perf_counter() - started, code, output.rstrip())
    print(outcome.output, flush=True)
    return outcome


def condensed(output: str) -> str:
    """The output without the progress lines a long load prints (`loaded 5,000 items …`): the last of each
    run of them is kept."""
    lines = output.splitlines()
    progress = [PROGRESS.match(line) is not None for line in lines]
    return "\n".join(line for n, line in enumerate(lines)
                     if not (progress[n] and n + 1 < len(lines) and progress[n + 1]))


def infrastructure_line(outcomes: list[Outcome]) -> str:
    for outcome in outcomes:
        for line in outcome.output.splitlines():
            if line.startswith("infrastructure:"):
                return line.removeprefix("infrastructure: ")
    return "not reported"


def system_table(result: dict[str, Any]) -> list[str]:
    n, floor = result["items"], result["floor_s"]
    verdict = "met" if result["ratio"] <= result["target_ratio"] else "**not met**"
    return [
        f"| figure ({n:,} items, one request) | seconds | floor | ratio |".replace(f"{n:,}", f"{n:,}".replace(",", " ")),
        "|---|---|---|---|",
        f"| wizard request answered | {result['answered_s']:.2f} | | |",
        f"| dunning shows every item paused (held by the follow-up) | {result['dunning_s']:.2f} | | |",
        f"| indicators show the disputed outstanding | {result['indicators_s']:.2f} | | |",
        f"| **both reflect it** | **{result['system_s']:.2f}** | {floor:.2f} "
        f"(write {result['write_s']:.2f} + publish {result['publish_s']:.2f}) | **{result['ratio']:.1f}×** |",
        "",
        f"Target: within {result['target_ratio']:.0f}× of the floor — {verdict} ({result['ratio']:.1f}×). "
        "The floor is a bare `insert_many` of the same item documents plus a bare publish of as many "
        "event-sized messages (acks=all), on the same broker and database, in the same run. The three "
        "services run in processes of their own; the clock starts when the request is sent"
        + (f"; dunning's list is read every {result['dunning_poll_s']} s (its resolution)."
           if "dunning_poll_s" in result else "."),
    ]


def report(outcomes: list[Outcome], kept: str, started: datetime) -> str:
    lines = ["# Benchmarks", "",
             f"Generated by `make bench` on {started:%Y-%m-%d %H:%M} UTC from one run on this machine; "
             "do not edit above the KEPT marker (the next run rewrites it).", "",
             "## Machine", "", *[f"- {line}" for line in machine()],
             f"- broker and database: {infrastructure_line(outcomes)}", ""]
    system = next((o.result for o in outcomes if o.script == "system_qualify.py" and o.result), None)
    lines += ["## System: 10 000 items qualified into a follow-up, until dunning and the indicators show it", ""]
    lines += system_table(system) if system else ["The system benchmark did not finish in this run (see below)."]
    lines += ["", "## Each benchmark, as it printed its figures beside its baseline", ""]
    for outcome in outcomes:
        state = {None: f"stopped after {TIMEOUT_S} s", 0: "ok"}.get(outcome.returncode, f"exit {outcome.returncode}")
        lines += [f"### `{' '.join(outcome.argv)}` ({outcome.seconds:.0f} s, {state})", "", "```",
                  condensed(outcome.output) or "(no output)", "```", ""]
    lines += ["## How to reproduce", "",
              "`make bench` (or `.venv/bin/python -m devstack.bench`; `--only system_qualify.py` runs one). "
              "Each script also runs alone: `.venv/bin/python benchmarks/<name>.py --help`. With "
              "`KAFKA_BOOTSTRAP_SERVERS` and `MONGODB_URL` set they use that cluster; else Docker's, else the "
              "local default processes (`ARF_DEV_MONGO_SERVER=py` for the Python database server). The "
              "machine is shared: figures move by tens of percent between runs.", "", KEPT, kept]
    return "\n".join(lines).rstrip() + "\n"


def kept_part(path: Path) -> str:
    text = path.read_text() if path.exists() else ""
    return text.split(KEPT, 1)[1].strip("\n") + "\n" if KEPT in text else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="Script names to run (default: all of benchmarks/)")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S, help="Seconds allowed to each benchmark")
    args = parser.parse_args()
    started = datetime.now(UTC)
    # The system benchmark first: it is the one the report is about, and the others leave the machine warm.
    scripts = sorted((ROOT / "benchmarks").glob("*.py"), key=lambda p: (p.name != "system_qualify.py", p.name))
    outcomes = [run_one(s, args.timeout) for s in scripts if not args.only or s.name in args.only]
    args.output.write_text(report(outcomes, kept_part(args.output), started))
    print(f"wrote {args.output}")
    failed = [o.script for o in outcomes if o.returncode != 0]
    if failed:
        sys.exit(f"benchmarks that did not finish: {', '.join(failed)}")


if __name__ == "__main__":
    main()
