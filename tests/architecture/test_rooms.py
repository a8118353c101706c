"""The shape of the code is a rule too: one skeleton in every service, handlers on ports only, and a
ground floor (`shared/`) that stands on nothing above it."""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "app.py").exists())
ROOMS = {"__init__.py", "__main__.py", "app.py", "config.py", "ports.py", "subscribers.py",
         "domain", "handlers", "adapters", "api", "workers"}
# What a handler never touches: the database, the broker, their sessions (it gets ports).
NOT_IN_HANDLERS = ("pymongo", "bson", "motor", "aiokafka", "faststream")


def imported_modules(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def python_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def test_there_are_services_to_check() -> None:
    assert {"followups", "dunning", "mailer", "indicators"} <= set(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_same_rooms_and_nothing_else_at_its_top(service: str) -> None:
    folder = ROOT / "services" / service
    present = {p.name for p in folder.iterdir() if p.name != "__pycache__"}
    assert present == ROOMS, f"missing: {sorted(ROOMS - present)}, outside the rooms: {sorted(present - ROOMS)}"
    for room in ("domain", "handlers", "adapters", "api", "workers"):
        assert (folder / room / "__init__.py").exists(), f"services/{service}/{room} is not a package"


@pytest.mark.parametrize("service", SERVICES)
def test_no_handler_imports_a_database_or_broker_library(service: str) -> None:
    offending = [f"{path.relative_to(ROOT)}: {module}"
                 for path in python_files(ROOT / "services" / service / "handlers")
                 for module in imported_modules(path)
                 if module.split(".")[0] in NOT_IN_HANDLERS
                 or module in ("shared.platform.mongo", "shared.platform.kafka", "shared.platform.consumer")]
    assert offending == []


@pytest.mark.parametrize("service", SERVICES)
def test_the_domain_is_pure(service: str) -> None:
    offending = [f"{path.relative_to(ROOT)}: {module}"
                 for path in python_files(ROOT / "services" / service / "domain")
                 for module in imported_modules(path)
                 if module.split(".")[0] in (*NOT_IN_HANDLERS, "httpx", "fastapi", "aiosmtplib", "aiosmtpd")
                 or module.startswith(("shared.platform", f"services.{service}.adapters",
                                       f"services.{service}.handlers", f"services.{service}.api"))]
    assert offending == []


def test_services_never_import_each_other() -> None:
    offending = [f"{path.relative_to(ROOT)}: {module}"
                 for service in SERVICES for path in python_files(ROOT / "services" / service)
                 for module in imported_modules(path)
                 if module.startswith("services.") and module.split(".")[1] != service]
    assert offending == []


def test_the_ground_floor_stands_on_nothing_above_it() -> None:
    offending = [f"{path.relative_to(ROOT)}: {module}" for path in python_files(ROOT / "shared")
                 for module in imported_modules(path) if module.split(".")[0] in ("devstack", "services", "tests")]
    assert offending == []
