"""Fixtures every test can use: the real infrastructure (chosen once per run), per-test isolation,
and development tokens signed with a throwaway key."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devstack.tokens import ensure_key_pair, mint_token
from shared.testing.infra import Infrastructure, infrastructure
from shared.testing.services import Isolation


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
