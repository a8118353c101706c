"""`python -m devstack up` (what `make up` runs): the whole system on the local default infrastructure.

Starts Tansu, SecantusDB, an SMTP sink and the four services; seeds a demo tenant; prints where to
look; restarts a service that dies (with backoff) and stops when the infrastructure dies
(devstack/supervision.py); on Ctrl-C waits until every event is published and consumed, then stops the services, then
the infrastructure. Data lives under .data/ and survives a restart.
"""

import asyncio
import json
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from devstack.drain import wait_until_drained
from devstack.processes import ManagedProcess, mongo_server_name
from devstack.seed import DEMO_TENANT, seed_demo
from devstack.supervision import supervise
from devstack.stack import StackConfig, infrastructure, services, taken_ports
from devstack.tokens import ensure_key_pair, mint_token
from devstack.testing.services import wait_ready

READY_TIMEOUT_S = 90.0


def say(line: str) -> None:
    print(line, flush=True)


def up() -> int:
    config = StackConfig()
    problems = taken_ports(config)
    if problems:
        for problem in problems:
            say(f"make up: {problem}: stop what uses it, or move ours with the variable named")
        return 1
    config.logs.mkdir(parents=True, exist_ok=True)
    ensure_key_pair(config.private_key.parent)
    infra, apps = infrastructure(config), services(config)
    started = time.monotonic()
    try:
        for process in infra:
            process.start()
        for process in infra:
            process.wait_for_port(60)
        for process in apps:
            process.start()
        _write_pids(config, infra + apps)
        return asyncio.run(_run(config, apps, infra, started))
    except RuntimeError as exc:
        say(f"make up: {exc}")
        return 1
    finally:
        _stop_all(apps, infra)


async def _run(config: StackConfig, apps: list[ManagedProcess], infra: list[ManagedProcess], started: float) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    urls = [config.url(app.name) for app in apps]
    await _wait_all_ready(apps, urls)
    say(f"ready in {time.monotonic() - started:.1f} s")
    token = mint_token(config.private_key.read_text(), tenant_id=DEMO_TENANT, user_id="demo-admin", role="admin",
                       email="admin@demo.example", name="Demo Admin")
    (config.data_dir / "dev-token.txt").write_text(token + "\n")
    say(await seed_demo(config, token))
    _banner(config, token)
    supervisor = asyncio.create_task(supervise(apps, infra, stop, say,
                                                 on_restart=lambda: _write_pids(config, infra + apps)))
    await stop.wait()
    supervisor.cancel()
    if not all(process.running for process in infra):
        return 1  # the supervisor said which one died: nothing left to drain into
    say("stopping: waiting until every event is published and consumed…")
    say(await wait_until_drained(urls, f"127.0.0.1:{config.kafka_port}", timeout_s=20))
    return 0


async def _wait_all_ready(apps: list[ManagedProcess], urls: list[str]) -> None:
    async def one(app: ManagedProcess, url: str) -> None:
        try:
            await wait_ready(url, timeout_s=READY_TIMEOUT_S)
        except TimeoutError as exc:
            raise RuntimeError(f"{app.name} is not ready: {exc}\n{app.log_tail()}") from None

    await asyncio.gather(*(one(app, url) for app, url in zip(apps, urls, strict=True)))


def _banner(config: StackConfig, token: str) -> None:
    lines = ["", "AR Follow-ups is up. Data lives in " + str(config.data_dir), ""]
    for name in config.service_ports:
        url = config.url(name)
        lines.append(f"  {name:<11} API docs {url}/docs   events {url}/asyncapi")
    lines += [
        f"  mailbox     http://localhost:{config.mailbox_port}  (every email the system sends)",
        f"  inbound     smtp://localhost:{config.inbound_port}  (replies, bounces and unsubscribes to the mailer)",
        f"  database    mongodb://localhost:{config.mongo_port}  ({mongo_server_name()})",
        f"  logs        {config.logs}/",
        "",
        f"  dev bearer token (tenant {DEMO_TENANT}, admin), also in {config.data_dir / 'dev-token.txt'}:",
        f"  {token}",
        "",
        "Press Ctrl-C to stop.",
    ]
    say("\n".join(lines))


def _write_pids(config: StackConfig, processes: list[ManagedProcess]) -> None:
    """For operators (and the tests): which processes this run started."""
    pids = {process.name: process.process.pid for process in processes if process.process}
    (config.data_dir / "pids.json").write_text(json.dumps(pids, indent=2))


def _stop_all(apps: list[ManagedProcess], infra: list[ManagedProcess]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave orphans behind
    with ThreadPoolExecutor() as pool:
        list(pool.map(lambda app: app.stop(25), apps))
    for process in reversed(infra):
        process.stop(15)
    say("stopped every process; data kept")


def main(argv: list[str]) -> int:
    if argv[1:] != ["up"]:
        say("usage: python -m devstack up")
        return 2
    return up()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
