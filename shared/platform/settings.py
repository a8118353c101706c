"""Settings from environment variables, all prefixed `ARF_`, composed from small mixins.

A service declares `class Settings(KafkaSettings, MongoSettings, ..., ServiceSettings)` and loads it
with `load_settings`, which turns a malformed variable into one line naming it.
"""

from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.platform.errors import ConfigError

ENV_PREFIX = "ARF_"


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Root log level")
    log_json: bool = Field(True, description="JSON log lines (off for a human at a terminal)")
    http_host: str = Field("0.0.0.0", description="Interface the HTTP server binds")
    http_port: int = Field(8000, ge=1, le=65535, description="Port of the API, health and metrics")
    public_base_url: str = Field("http://localhost:8000", description="Base URL users reach this service at")


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    kafka_bootstrap_servers: str = Field("localhost:9092", description="Comma-separated host:port list")
    kafka_topic_prefix: str = Field(
        "", description="Prepended to every topic and consumer group name (environments, tests)"
    )
    kafka_partitions: int = Field(6, ge=1, description="Partitions of topics this service creates")
    kafka_replication_factor: int = Field(1, ge=1, description="Replication of topics this service creates")
    kafka_acks: Literal["all", "1", "0"] = Field("all", description="Producer acks; 'all' in production")
    kafka_enable_idempotence: bool = Field(
        True, description="Idempotent producer; the local Tansu broker does not support it"
    )
    kafka_session_timeout_ms: int = Field(10000, ge=500, description="Consumer group session timeout")
    kafka_heartbeat_interval_ms: int = Field(3000, ge=100, description="Consumer heartbeat interval")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None


class MongoSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    mongodb_url: SecretStr = Field(
        SecretStr("mongodb://localhost:27017/?directConnection=true"), description="MongoDB connection string"
    )
    mongodb_database: str = Field("", description="This service's database (defaults to arf_<service>)")
    mongodb_timeout_ms: int = Field(5000, ge=100, description="Server selection and connect timeout")
    mongodb_transaction_timeout_s: float = Field(
        10.0, gt=0, le=60, description="Bound on one transaction, retries included: aborted past it (seconds)"
    )


class ConsumerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    consumer_max_attempts: int = Field(5, ge=1, description="Attempts before a message is dead-lettered")
    consumer_backoff_initial_s: float = Field(0.2, gt=0, description="First retry delay")
    consumer_backoff_max_s: float = Field(5.0, gt=0, description="Longest retry delay")
    processed_event_ttl_days: int = Field(14, ge=1, description="How long processed event ids are kept")
    consumer_max_record_bytes: int = Field(
        1_048_576, ge=1024, description="A record larger than this is dead-lettered unread (Kafka's default limit)")


class OutboxSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    outbox_poll_interval_s: float = Field(1.0, gt=0, description="Sweep interval when no change is seen")
    outbox_batch_size: int = Field(500, ge=1, description="Rows published per sweep")
    outbox_lease_s: float = Field(10.0, gt=0, description="Relay leadership lease")
    outbox_republish_on_broker_reset: bool = Field(
        False, description="Re-publish recent rows when the broker lost its topics (memory broker)"
    )
    outbox_republish_window_s: float = Field(86400.0, gt=0, description="How far back a re-publish goes")
    outbox_retention_days: int = Field(7, ge=1, description="Sent rows older than this are purged")


class IdempotencySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    idempotency_ttl_hours: float = Field(24.0, gt=0, description="How long an Idempotency-Key's answer is kept")
    idempotency_lease_s: float = Field(
        20.0, gt=0, description="How long a key stays in flight before another request may take it over"
    )


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    auth_issuer: str = Field("arf-dev", description="Expected `iss` of bearer tokens")
    auth_audience: str = Field("ar-followups", description="Expected `aud` of bearer tokens")
    auth_jwks_url: str | None = Field(None, description="OIDC provider's JWKS endpoint")
    auth_public_key_file: Path | None = Field(None, description="PEM public key (local dev, tests)")


class PlatformSettings(AuthSettings, IdempotencySettings, OutboxSettings, ConsumerSettings, MongoSettings, KafkaSettings,
                       ServiceSettings):
    """What every service needs; a service subclasses it and adds its own fields."""


S = TypeVar("S", bound=BaseSettings)


def load_settings(settings_cls: type[S], **overrides: object) -> S:
    """Read settings from the environment; a bad value becomes a ConfigError naming the variable."""
    try:
        return settings_cls(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        name = ENV_PREFIX + "_".join(str(part) for part in error["loc"]).upper()
        problems.append(f"{name}: {error['msg']} (got {error.get('input')!r})")
    return "invalid configuration: " + "; ".join(problems)
