"""`python -m services.<name>`: load settings, configure logs, check the port, serve the app."""

import errno
import socket
import sys
from collections.abc import Callable
from typing import TypeVar

import uvicorn
from fastapi import FastAPI

from shared.platform.errors import ConfigError
from shared.platform.logging import configure_logging
from shared.platform.settings import PlatformSettings, load_settings

S = TypeVar("S", bound=PlatformSettings)


def serve(*, name: str, settings_cls: type[S], create_app: Callable[[S], FastAPI]) -> None:
    try:
        settings = load_settings(settings_cls)
        configure_logging(service=name, level=settings.log_level, json_lines=settings.log_json)
        _check_port_free(settings.http_host, settings.http_port)
        app = create_app(settings)
    except ConfigError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
    )


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(f"port {port} is already in use (ARF_HTTP_PORT)") from None
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
