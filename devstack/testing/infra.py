"""Which Kafka and MongoDB the tests talk to, chosen once per run:

1. `KAFKA_BOOTSTRAP_SERVERS` / `MONGODB_URL` set → those (a real cluster);
2. else a Docker engine answers → testcontainers (Apache Kafka, a one-node MongoDB replica set);
3. else the local default processes (Tansu, SecantusDB) on free ports, with throwaway storage; the database
   server is SecantusDB's Rust server unless `ARF_DEV_MONGO_SERVER=py` picks the Python one.
"""

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from devstack.processes import ManagedProcess, free_port, mongo_server_name, secantus, secantus_url, tansu


@dataclass
class Infrastructure:
    kind: str
    kafka_bootstrap_servers: str
    mongodb_url: str
    kafka_idempotence: bool
    kafka_broker: ManagedProcess | None = None  # set when the tests own the broker process (can restart it)
    database: str = "MongoDB"  # which server answers at mongodb_url, as benchmarks print it

    def describe(self) -> str:
        """One line for a benchmark's output: which broker and which database server it ran on."""
        return f"infrastructure: {self.kind} (Kafka {self.kafka_bootstrap_servers}; {self.database} {self.mongodb_url})"

    def restart_broker(self) -> None:
        """Stop and start the local broker (memory storage: it forgets every topic and message)."""
        if self.kafka_broker is None:
            raise RuntimeError("only the local default broker can be restarted by the tests")
        self.kafka_broker.stop()
        self.kafka_broker.start()
        self.kafka_broker.wait_for_port(30)


@contextlib.contextmanager
def infrastructure() -> Iterator[Infrastructure]:
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    mongo = os.environ.get("MONGODB_URL")
    if kafka and mongo:
        yield Infrastructure("given", kafka, mongo, kafka_idempotence=True)
    elif _docker_answers():
        with _containers() as infra:
            yield infra
    else:
        with _local_processes() as infra:
            yield infra


def _docker_answers() -> bool:
    if not shutil.which("docker") and not os.environ.get("DOCKER_HOST"):
        return False
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def _containers() -> Iterator[Infrastructure]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.mongodb import MongoDbContainer

    kafka = KafkaContainer().with_kraft()
    mongo = MongoDbContainer("mongo:8").with_command("--replSet rs0 --bind_ip_all")
    with kafka, mongo:
        host, port = mongo.get_container_host_ip(), mongo.get_exposed_port(27017)
        mongo.exec(["mongosh", "--quiet", "--eval", f"rs.initiate({{_id:'rs0',members:[{{_id:0,host:'localhost:27017'}}]}})"])
        url = f"mongodb://{host}:{port}/?directConnection=true"
        yield Infrastructure("testcontainers", kafka.get_bootstrap_server(), url, kafka_idempotence=True,
                             database="MongoDB 8 replica set (testcontainers)")


@contextlib.contextmanager
def _local_processes() -> Iterator[Infrastructure]:
    workdir = Path(tempfile.mkdtemp(prefix="arf-test-infra-"))
    kafka_port, mongo_port = free_port(), free_port()
    broker = tansu(port=kafka_port, log_path=workdir / "tansu.log")
    database = secantus(port=mongo_port, storage_path=workdir / "mongo", log_path=workdir / "secantus.log")
    try:
        broker.start()
        database.start()
        broker.wait_for_port(30)
        database.wait_for_port(60)
        yield Infrastructure(
            "local",
            f"127.0.0.1:{kafka_port}",
            secantus_url(mongo_port),
            kafka_idempotence=False,
            kafka_broker=broker,
            database=mongo_server_name(),
        )
    finally:
        broker.stop(5)
        database.stop(10)
        shutil.rmtree(workdir, ignore_errors=True)
