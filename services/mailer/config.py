"""Settings of the mailer service: the platform's, plus SMTP, senders, retries (all read from ARF_*)."""

from datetime import timedelta
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.mailer.domain.compose import SenderIdentity
from services.mailer.domain.inbound.attachments import DEFAULT_TYPES, Limits
from services.mailer.domain.sends import RetryPolicy, UnknownPolicy
from shared.links import LinkSettings
from shared.platform.settings import ENV_PREFIX, PlatformSettings


class SmtpSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    smtp_host: str = Field("localhost", description="The organisation's SMTP relay")
    smtp_port: int = Field(2525, ge=1, le=65535, description="Relay port (587 for STARTTLS, 465 for implicit TLS)")
    smtp_implicit_tls: bool = Field(False, description="TLS from the first byte (port 465)")
    smtp_starttls: Literal["auto", "always", "never"] = Field(
        "auto", description="Upgrade with STARTTLS: when offered, always (refuse cleartext), or never"
    )
    smtp_validate_certs: bool = Field(True, description="Check the relay's TLS certificate")
    smtp_username: str | None = Field(None, description="AUTH user; no AUTH when unset")
    smtp_password: SecretStr | None = Field(None, description="AUTH password")
    smtp_local_hostname: str | None = Field(None, description="Name sent in EHLO (the host name when unset)")
    smtp_timeout_s: float = Field(30.0, gt=0, description="Timeout of each SMTP command")
    smtp_pool_size: int = Field(3, ge=1, le=50, description="Persistent connections to the relay")
    smtp_max_messages_per_connection: int = Field(100, ge=1, description="Reconnect after this many messages")
    smtp_idle_check_s: float = Field(30.0, gt=0, description="NOOP a connection idle this long before reusing it")
    smtp_reconnect_initial_s: float = Field(1.0, gt=0, description="First wait after a failed connection")
    smtp_reconnect_max_s: float = Field(60.0, gt=0, description="Longest wait between connection attempts")


class DeliverySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    mail_default_sender: SenderIdentity = Field(
        SenderIdentity(from_address="noreply@arf.localhost"), description="Sender of tenants without their own"
    )
    mail_senders: dict[str, SenderIdentity] = Field(
        default_factory=dict, description='Per tenant, JSON: {"acme": {"from_address": "ar@acme.example", ...}}'
    )
    mail_inbound_domain: str = Field(
        "inbound.arf.localhost", description="Domain of the inbound listener: bounces+<send id>@ (VERP), unsubscribe+"
    )
    mail_message_id_domain: str | None = Field(None, description="Right-hand side of Message-IDs (inbound domain)")
    mail_list_unsubscribe: bool = Field(
        True, description="List-Unsubscribe on automatic emails to clients (a mailto the inbound listener handles)"
    )
    mail_unknown_policy: UnknownPolicy = Field(
        UnknownPolicy.HOLD, description="A send lost after DATA: hold for the owner (default) or resend"
    )
    send_retry_max_attempts: int = Field(10, ge=1, description="Attempts before a temporarily failing send gives up")
    send_retry_initial_s: float = Field(60.0, gt=0, description="First retry delay after a temporary failure")
    send_retry_max_s: float = Field(1800.0, gt=0, description="Longest retry delay")
    send_retry_max_age_s: float = Field(172800.0, gt=0, description="A send not delivered after this long gives up")
    sender_batch_size: int = Field(50, ge=1, le=1000, description="Sends claimed from the ledger at once")
    sender_claim_s: float = Field(120.0, gt=1, description="A claim not renewed within this is taken as abandoned")
    sender_poll_interval_s: float = Field(1.0, gt=0, description="Ledger sweep interval when nothing wakes the sender")
    sender_flush_interval_s: float = Field(0.05, gt=0, description="Longest wait before outcomes are written")
    attachment_max_bytes: int = Field(15 * 1024 * 1024, ge=1, description="Largest attachment fetched")
    attachment_timeout_s: float = Field(30.0, gt=0, description="Timeout fetching one attachment")

    def sender_for(self, tenant_id: str) -> SenderIdentity:
        return self.mail_senders.get(tenant_id, self.mail_default_sender)

    @property
    def message_id_domain(self) -> str:
        return self.mail_message_id_domain or self.mail_inbound_domain

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            initial_s=self.send_retry_initial_s,
            max_s=self.send_retry_max_s,
            max_attempts=self.send_retry_max_attempts,
            max_age=timedelta(seconds=self.send_retry_max_age_s),
        )


class InboundSettings(BaseSettings):
    """The inbound listener: replies, bounces and unsubscribes for the inbound domain."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    mail_inbound_enabled: bool = Field(True, description="Run the inbound SMTP listener in this process")
    mail_inbound_host: str = Field("0.0.0.0", description="Interface the inbound SMTP listener binds")
    mail_inbound_port: int = Field(2526, ge=1, le=65535, description="Port of the inbound SMTP listener")
    mail_inbound_hostname: str | None = Field(None, description="Name in the SMTP greeting (the inbound domain)")
    mail_inbound_max_bytes: int = Field(
        25 * 1024 * 1024, ge=1024, description="Largest message accepted (SIZE; more is refused with 552)"
    )
    mail_inbound_max_recipients: int = Field(20, ge=1, description="Recipients accepted per message (then 452)")
    mail_inbound_timeout_s: float = Field(120.0, gt=0, description="An idle SMTP session is closed after this")
    mail_inbound_tls_cert_file: str | None = Field(None, description="PEM certificate: offer STARTTLS when set")
    mail_inbound_tls_key_file: str | None = Field(None, description="PEM private key of that certificate")
    mail_inbound_attachment_max_bytes: int = Field(
        10 * 1024 * 1024, ge=1, description="Largest file of a reply that is kept (larger ones are listed as refused)"
    )
    mail_inbound_attachment_max_count: int = Field(10, ge=0, description="Files of one reply that are kept")
    mail_inbound_attachment_types: tuple[str, ...] = Field(
        DEFAULT_TYPES, description="Content types kept from replies (checked against the content)"
    )
    mail_inbound_claim_ttl_s: float = Field(
        14 * 86400.0, gt=0, description="How long the claim-check URL of a reply's file is valid"
    )

    def attachment_limits(self) -> Limits:
        return Limits(max_bytes=self.mail_inbound_attachment_max_bytes, max_count=self.mail_inbound_attachment_max_count,
                      types=frozenset(self.mail_inbound_attachment_types))


class MailerSettings(InboundSettings, DeliverySettings, SmtpSettings, LinkSettings, PlatformSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    http_port: int = Field(8003, ge=1, le=65535, description="Port of the API, health and metrics")
