"""The local stack of `make up`: ports, data folder, the processes, and their order of start and stop."""

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from devstack.processes import ManagedProcess, port_free, secantus, secantus_url, smtp_sink, tansu
from shared.links import new_link_key_setting

SERVICES = ("followups", "dunning", "mailer", "indicators")


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SystemExit(f"{name}={raw!r} is not a port number")
    return int(raw)


@dataclass(frozen=True)
class StackConfig:
    """Where everything listens and lives; every port can be moved with an ARF_DEV_* variable."""

    data_dir: Path = field(default_factory=lambda: Path(os.environ.get("ARF_DEV_DATA_DIR", ".data")).resolve())
    kafka_port: int = field(default_factory=lambda: _port("ARF_DEV_KAFKA_PORT", 9092))
    mongo_port: int = field(default_factory=lambda: _port("ARF_DEV_MONGO_PORT", 27017))
    smtp_port: int = field(default_factory=lambda: _port("ARF_DEV_SMTP_PORT", 2525))
    mailbox_port: int = field(default_factory=lambda: _port("ARF_DEV_MAILBOX_PORT", 8025))
    inbound_port: int = field(default_factory=lambda: _port("ARF_DEV_INBOUND_PORT", 2526))
    service_ports: dict[str, int] = field(default_factory=lambda: {
        name: _port(f"ARF_DEV_{name.upper()}_PORT", 8001 + index) for index, name in enumerate(SERVICES)
    })

    def ports(self) -> dict[str, int]:
        named = {"Kafka broker (ARF_DEV_KAFKA_PORT)": self.kafka_port,
                 "MongoDB (ARF_DEV_MONGO_PORT)": self.mongo_port,
                 "SMTP sink (ARF_DEV_SMTP_PORT)": self.smtp_port,
                 "mailbox page (ARF_DEV_MAILBOX_PORT)": self.mailbox_port,
                 "mailer's inbound SMTP listener (ARF_DEV_INBOUND_PORT)": self.inbound_port}
        for name, port in self.service_ports.items():
            named[f"{name} service (ARF_DEV_{name.upper()}_PORT)"] = port
        return named

    def url(self, service: str) -> str:
        return f"http://localhost:{self.service_ports[service]}"

    @property
    def logs(self) -> Path:
        return self.data_dir / "logs"

    @property
    def link_keys_file(self) -> Path:
        return self.data_dir / "dev-keys" / "link-keys.txt"

    @property
    def public_key(self) -> Path:
        return self.data_dir / "dev-keys" / "public.pem"

    @property
    def private_key(self) -> Path:
        return self.data_dir / "dev-keys" / "private.pem"


def taken_ports(config: StackConfig) -> list[str]:
    return [f"port {port} ({name}) is already in use" for name, port in config.ports().items() if not port_free(port)]


def infrastructure(config: StackConfig) -> list[ManagedProcess]:
    return [
        tansu(port=config.kafka_port, log_path=config.logs / "kafka.log"),
        secantus(port=config.mongo_port, storage_path=config.data_dir / "mongo", log_path=config.logs / "mongodb.log"),
        smtp_sink(smtp_port=config.smtp_port, http_port=config.mailbox_port, maildir=config.data_dir / "mail",
                  log_path=config.logs / "smtp-sink.log"),
    ]


def ensure_link_keys(config: StackConfig) -> str:
    """The link keys of this data folder, created once (links in sent emails keep working after a restart)."""
    if not config.link_keys_file.exists():
        config.link_keys_file.parent.mkdir(parents=True, exist_ok=True)
        config.link_keys_file.write_text(new_link_key_setting())
        config.link_keys_file.chmod(0o600)
    return config.link_keys_file.read_text().strip()


def service_environment(config: StackConfig, service: str) -> dict[str, str]:
    port = config.service_ports[service]
    own = {"mailer": {"ARF_MAIL_INBOUND_HOST": "127.0.0.1", "ARF_MAIL_INBOUND_PORT": str(config.inbound_port)}}
    return {
        "ARF_HTTP_PORT": str(port),
        "ARF_PUBLIC_BASE_URL": config.url(service),
        "ARF_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{config.kafka_port}",
        "ARF_KAFKA_ENABLE_IDEMPOTENCE": "false",  # Tansu does not support the idempotent producer
        "ARF_KAFKA_SESSION_TIMEOUT_MS": "6000",
        "ARF_KAFKA_HEARTBEAT_INTERVAL_MS": "2000",
        "ARF_MONGODB_URL": secantus_url(config.mongo_port),
        "ARF_OUTBOX_REPUBLISH_ON_BROKER_RESET": "true",  # Tansu keeps messages in memory only
        "ARF_AUTH_PUBLIC_KEY_FILE": str(config.public_key),
        "ARF_LINK_KEYS": ensure_link_keys(config),
        "ARF_SMTP_HOST": "127.0.0.1",
        "ARF_SMTP_PORT": str(config.smtp_port),
        "ARF_LOG_JSON": "true",
        **{f"ARF_{name.upper()}_URL": config.url(name) for name in SERVICES},
        **own.get(service, {}),
    }


def services(config: StackConfig) -> list[ManagedProcess]:
    return [
        ManagedProcess(name=name, argv=[sys.executable, "-m", f"services.{name}"],
                       env=service_environment(config, name), log_path=config.logs / f"{name}.log",
                       port=config.service_ports[name])
        for name in SERVICES
    ]
