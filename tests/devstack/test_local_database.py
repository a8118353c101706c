"""The local database: SecantusDB's Rust server unless `ARF_DEV_MONGO_SERVER=py` picks the Python one, used
without retryable writes by `make up` and by the tests alike (`benchmarks/local_database_writes.py`)."""

import sys
from pathlib import Path

import pytest
from pymongo import MongoClient

from devstack import processes
from devstack.processes import RUST_SERVER_BIN, ManagedProcess, mongo_server_name, secantus
from devstack.stack import SERVICES, StackConfig, service_environment
from devstack.testing.infra import Infrastructure


def retries_writes(url: str) -> bool:
    with MongoClient(url, connect=False) as client:
        return bool(client.options.retry_writes)


def test_make_up_connects_every_service_without_retryable_writes(tmp_path: Path) -> None:
    config = StackConfig(data_dir=tmp_path)
    urls = {service: service_environment(config, service)["ARF_MONGODB_URL"] for service in SERVICES}
    assert {service: retries_writes(url) for service, url in urls.items()} == dict.fromkeys(SERVICES, False)


def test_local_test_infrastructure_writes_without_retryable_writes(infra: Infrastructure) -> None:
    if infra.kind != "local":
        pytest.skip("a MongoDB replica set keeps the driver's default")
    assert retries_writes(infra.mongodb_url) is False
    with MongoClient(infra.mongodb_url) as client:
        client.arf_local_database_check.writes.insert_one({"written": True})
        assert client.arf_local_database_check.writes.count_documents({"written": True}) == 1
        client.drop_database("arf_local_database_check")


class TestWhichServer:
    def test_the_rust_server_is_the_default_and_the_python_one_is_one_setting_away(
            self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("ARF_DEV_MONGO_SERVER", raising=False)
        assert started_by(secantus(port=27017, storage_path="db", log_path=Path("db.log"))) == str(RUST_SERVER_BIN)
        assert "Rust" in mongo_server_name()
        monkeypatch.setenv("ARF_DEV_MONGO_SERVER", "py")
        assert secantus(port=27017, storage_path="db", log_path=Path("db.log")).argv[:3] == [
            sys.executable, "-m", "secantus"]
        assert "Python" in mongo_server_name()

    def test_an_unknown_server_is_refused_naming_the_variable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ARF_DEV_MONGO_SERVER", "mongod")
        with pytest.raises(SystemExit, match="ARF_DEV_MONGO_SERVER='mongod' is not one of rs, py"):
            secantus(port=27017, storage_path="db", log_path=Path("db.log"))

    def test_a_missing_rust_server_says_how_to_install_it(self, monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
        monkeypatch.setattr(processes, "RUST_SERVER_BIN", tmp_path / "secantusd-rs")
        with pytest.raises(SystemExit, match="run `make install`"):
            secantus(port=27017, storage_path="db", log_path=Path("db.log"), server="rs")

    def test_the_installed_rust_server_is_the_pinned_release(self) -> None:
        pinned = (Path(processes.__file__).parent / "rust-server.txt").read_text().split("==")[-1].strip()
        assert RUST_SERVER_BIN.exists() and f"SecantusDB {pinned}" in mongo_server_name("rs")


def started_by(process: ManagedProcess) -> str:
    return process.argv[0]
