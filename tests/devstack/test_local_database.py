"""The local database is used without retryable writes, by `make up` and by the tests alike:
SecantusDB 0.7.0b3 slows every transaction down once it holds 10 000 retryable-write replies
(`benchmarks/local_database_writes.py`)."""

from pathlib import Path

import pytest
from pymongo import MongoClient

from devstack.stack import SERVICES, StackConfig, service_environment
from shared.testing.infra import Infrastructure


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
