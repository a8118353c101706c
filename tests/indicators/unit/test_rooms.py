"""The indicators service has the rooms of every service, and its handlers never see the database or
the broker: no module under `handlers/` imports a driver, a broker client or a session type."""

import ast
from pathlib import Path

import services.indicators

SERVICE = Path(services.indicators.__file__).parent
ROOMS = {"__init__.py", "__main__.py", "app.py", "config.py", "ports.py", "subscribers.py",
         "domain", "handlers", "adapters", "api", "workers"}
FORBIDDEN = ("pymongo", "bson", "motor", "aiokafka", "faststream", "shared.platform.consumer",
             "shared.platform.mongo", "shared.platform.unit_of_work", "services.indicators.adapters")
NAMES_FORBIDDEN = {"AsyncClientSession", "ClientSession", "EventContext", "Session"}


def imports_of(path: Path) -> list[tuple[str, str]]:
    """Every (module, name) a module imports; `name` is empty for `import module`."""
    found: list[tuple[str, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((alias.name, "") for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.extend((node.module, alias.name) for alias in node.names)
    return found


def test_every_module_is_in_one_of_the_rooms() -> None:
    present = {path.name for path in SERVICE.iterdir() if path.name != "__pycache__"}
    assert present <= ROOMS, present - ROOMS
    assert {"domain", "handlers", "adapters", "api", "workers"} <= present


def test_no_handler_imports_a_database_a_broker_or_a_session() -> None:
    handlers = sorted((SERVICE / "handlers").rglob("*.py"))
    assert handlers
    for path in handlers:
        for module, name in imports_of(path):
            assert not module.startswith(FORBIDDEN), f"{path.name} imports {module}"
            assert name not in NAMES_FORBIDDEN, f"{path.name} imports {name} from {module}"


def test_the_domain_does_no_io() -> None:
    for path in sorted((SERVICE / "domain").rglob("*.py")):
        for module, _ in imports_of(path):
            assert not module.startswith((*FORBIDDEN, "services.indicators.handlers", "services.indicators.ports",
                                          "fastapi", "httpx", "shared.platform")), f"{path.name} imports {module}"
