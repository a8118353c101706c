"""Supervision of the local stack: a service process that dies is restarted with backoff; an
infrastructure process that dies stops the whole stack with one line saying which and why.

Why not restart the infrastructure too: the local broker keeps its messages in memory only, so a
restarted broker is an empty one, and the services would go on against a stack whose state no longer
matches the logs a developer is reading. Stopping with a clear message is the honest answer; `make up`
again starts from the data kept in `.data/` (outboxes re-publish what the broker forgot).
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from devstack.processes import ManagedProcess


@dataclass
class Backoff:
    """Delay before the next restart: `first_s` doubling to `ceiling_s`, back to `first_s` once the
    process has stayed up `reset_after_s`."""

    first_s: float = 1.0
    ceiling_s: float = 30.0
    reset_after_s: float = 60.0
    _next_s: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._next_s = self.first_s

    def delay(self, up_for_s: float) -> float:
        """The delay before restarting a process that died after `up_for_s` seconds up."""
        if up_for_s >= self.reset_after_s:
            self._next_s = self.first_s
        chosen = self._next_s
        self._next_s = min(self._next_s * 2, self.ceiling_s)
        return chosen


@dataclass
class Supervised:
    """A service under supervision: its process, its backoff and when it last started."""

    process: ManagedProcess
    backoff: Backoff = field(default_factory=Backoff)
    started_at: float = field(default_factory=time.monotonic)
    restarts: int = 0


def death_line(name: str, exit_code: int | None, delay_s: float) -> str:
    """The one log line saying which service died, with which exit code, and when it restarts."""
    return f"supervisor: {name} exited with code {exit_code}; restarting in {delay_s:.0f} s"


async def supervise(services: list[ManagedProcess], infrastructure: list[ManagedProcess], stop: asyncio.Event,
                    say: Callable[[str], None], *, backoff: Callable[[], Backoff] = Backoff,
                    on_restart: Callable[[], None] = lambda: None, poll_s: float = 0.5) -> None:
    """Until `stop` is set: restart dead services with backoff; set `stop` when infrastructure dies."""
    watched = [Supervised(process, backoff()) for process in services]
    pending: dict[str, asyncio.Task[None]] = {}
    try:
        while not stop.is_set():
            for process in infrastructure:
                if not process.running:
                    code = process.process.returncode if process.process else None
                    say(f"supervisor: {process.name} exited with code {code}; stopping the stack (infrastructure "
                        f"is not restarted: run `make up` again). Its last lines:\n{process.log_tail()}")
                    stop.set()
                    return
            for entry in watched:
                name = entry.process.name
                if entry.process.running or name in pending:
                    continue
                code = entry.process.process.returncode if entry.process.process else None
                delay = entry.backoff.delay(time.monotonic() - entry.started_at)
                say(death_line(name, code, delay))
                pending[name] = asyncio.create_task(_restart_later(entry, delay, stop, say, on_restart, pending))
            await asyncio.sleep(poll_s)
    finally:
        for task in pending.values():
            task.cancel()


async def _restart_later(entry: Supervised, delay_s: float, stop: asyncio.Event, say: Callable[[str], None],
                         on_restart: Callable[[], None], pending: dict[str, asyncio.Task[None]]) -> None:
    try:
        await asyncio.sleep(delay_s)
        if not stop.is_set():
            entry.process.start()
            entry.started_at = time.monotonic()
            entry.restarts += 1
            say(f"supervisor: {entry.process.name} restarted (pid {entry.process.process.pid}, "
                f"restart #{entry.restarts})")
            on_restart()
    finally:
        pending.pop(entry.process.name, None)
