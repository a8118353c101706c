"""The supervisor's rules on stand-in processes: backoff doubling to a ceiling and reset after a minute
up, one line per death, a restarted service, and a dead infrastructure process stopping the stack."""

import asyncio
import sys
from pathlib import Path

from devstack.processes import ManagedProcess
from devstack.supervision import Backoff, death_line, supervise


def test_backoff_doubles_to_its_ceiling_and_resets_after_a_minute_up() -> None:
    backoff = Backoff(first_s=1, ceiling_s=30, reset_after_s=60)
    delays = [backoff.delay(up_for_s=2) for _ in range(7)]
    assert delays == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay(up_for_s=61) == 1
    assert backoff.delay(up_for_s=5) == 2


def test_the_death_line_names_the_service_its_exit_code_and_the_delay() -> None:
    assert death_line("dunning", -9, 4.0) == "supervisor: dunning exited with code -9; restarting in 4 s"


def _sleeper(name: str, tmp_path: Path, seconds: str = "30") -> ManagedProcess:
    # a stand-in child that is not a network client: a unit test may not open connections
    return ManagedProcess(name=name, argv=[sys.executable, "-c", f"import time; time.sleep({seconds})"],
                          log_path=tmp_path / f"{name}.log")


async def test_a_dead_service_is_restarted_with_one_line_and_the_stack_keeps_running(tmp_path: Path) -> None:
    service, broker = _sleeper("followups", tmp_path), _sleeper("broker", tmp_path)
    service.start()
    broker.start()
    lines: list[str] = []
    restarted: list[int] = []
    stop = asyncio.Event()
    task = asyncio.create_task(supervise([service], [broker], stop, lines.append, poll_s=0.05,
                                         backoff=lambda: Backoff(first_s=0.1),
                                         on_restart=lambda: restarted.append(service.process.pid)))
    try:
        first_pid = service.process.pid
        service.kill()
        for _ in range(100):
            if restarted:
                break
            await asyncio.sleep(0.05)
        assert restarted and restarted[0] != first_pid and service.running
        assert lines[0].startswith("supervisor: followups exited with code -9; restarting in 0 s"), lines
        assert not stop.is_set()
    finally:
        stop.set()
        task.cancel()
        service.kill()
        broker.kill()


async def test_a_dead_infrastructure_process_stops_the_stack_with_its_name(tmp_path: Path) -> None:
    service, broker = _sleeper("followups", tmp_path), _sleeper("kafka (tansu)", tmp_path, seconds="0")
    service.start()
    broker.start()
    lines: list[str] = []
    stop = asyncio.Event()
    try:
        await asyncio.wait_for(supervise([service], [broker], stop, lines.append, poll_s=0.05), timeout=10)
        assert stop.is_set()
        assert lines[0].startswith("supervisor: kafka (tansu) exited with code 0; stopping the stack"), lines
    finally:
        service.kill()

