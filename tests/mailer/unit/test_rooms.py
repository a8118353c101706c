"""The mailer has the rooms of every service, and its handlers never see the database or the broker."""

import ast
from pathlib import Path

import services.mailer

SERVICE = Path(services.mailer.__file__).parent
ROOMS = {"__init__.py", "__main__.py", "app.py", "config.py", "ports.py", "subscribers.py",
         "domain", "handlers", "adapters", "api", "workers"}
FORBIDDEN = ("pymongo", "bson", "motor", "gridfs", "aiokafka", "faststream", "aiosmtplib", "aiosmtpd", "httpx")


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def test_every_module_is_in_a_room_of_the_skeleton() -> None:
    top = {path.name for path in SERVICE.iterdir() if path.name != "__pycache__"}
    assert top == ROOMS
    for room in ("domain", "handlers", "adapters", "api", "workers"):
        assert (SERVICE / room / "__init__.py").exists()


def test_no_handler_imports_a_database_broker_or_session_type() -> None:
    offending = {
        f"{path.relative_to(SERVICE)}: {module}"
        for path in sorted((SERVICE / "handlers").rglob("*.py"))
        for module in imported_modules(path)
        if module.split(".")[0] in FORBIDDEN or "Session" in module.rsplit(".", 1)[-1]
        or module.startswith(("services.mailer.adapters", "shared.platform.consumer", "shared.platform.mongo"))
    }
    assert not offending


def test_the_domain_does_no_io() -> None:
    offending = {
        f"{path.relative_to(SERVICE)}: {module}"
        for path in sorted((SERVICE / "domain").rglob("*.py"))
        for module in imported_modules(path)
        if module.split(".")[0] in (*FORBIDDEN, "fastapi", "asyncio", "socket")
        or module.startswith(("services.mailer.adapters", "services.mailer.handlers", "shared.platform"))
    }
    assert not offending
