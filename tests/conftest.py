"""Fixtures every test can use: the real infrastructure (chosen once per run), per-test isolation,
and development tokens signed with a throwaway key; and the three layers every test belongs to.

A test's layer follows from what it uses, so it cannot be mislabelled: `e2e` under `tests/e2e` or marked
`slow` (several services as processes), `integration` when it asks for `infra` (the real broker,
database, SMTP), `unit` otherwise — and a unit test that opens a network connection fails.
"""

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devstack.tokens import ensure_key_pair, mint_token
from devstack.testing.infra import Infrastructure, infrastructure
from devstack.testing.services import Isolation


@pytest.fixture(scope="session")
def infra() -> Iterator[Infrastructure]:
    with infrastructure() as running:
        yield running


@pytest.fixture
def isolation() -> Isolation:
    return Isolation.new()


@pytest.fixture(scope="session")
def dev_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return ensure_key_pair(tmp_path_factory.mktemp("dev-keys"))


@pytest.fixture(scope="session")
def public_key(dev_keys: tuple[Path, Path]) -> Path:
    return dev_keys[1]


@pytest.fixture(scope="session")
def token_for(dev_keys: tuple[Path, Path]) -> Callable[..., str]:
    """`token_for(tenant_id="acme", role="collector", user_id="u1")` → a signed bearer token."""
    private_pem = dev_keys[0].read_text()

    def mint(*, tenant_id: str, role: str = "admin", user_id: str = "user-1", email: str | None = None) -> str:
        return mint_token(private_pem, tenant_id=tenant_id, user_id=user_id, role=role,
                          email=email or f"{user_id}@{tenant_id}.example")

    return mint


LAYERS = ("unit", "integration", "e2e")


def layer_of(item: pytest.Item) -> str:
    if "e2e" in item.path.parts or item.get_closest_marker("slow") or item.get_closest_marker("e2e"):
        return "e2e"
    if item.get_closest_marker("integration") or "infra" in getattr(item, "fixturenames", ()):
        return "integration"  # a test serving a real SMTP server of its own says so with the marker
    return "unit"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(layer_of(item))


@pytest.fixture(autouse=True)
def _unit_tests_stay_off_the_network(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit test runs on fakes: an IP connection from one means it needs the integration layer."""
    if layer_of(request.node) != "unit":
        return
    connect = socket.socket.connect

    def refuse(self: socket.socket, address: object) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise AssertionError(f"a unit test connected to {address!r}: use fakes, or ask for `infra`")
        connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", refuse)
