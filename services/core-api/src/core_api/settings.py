"""core-api settings, one Struct per concern, read from the environment once by :func:`load_settings`."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import msgspec
from service_common.auth.settings import AuthSettings
from service_common.logging import LogSettings
from service_common.settings import from_env


class DatabaseSettings(msgspec.Struct, frozen=True):
    """PostgreSQL connection (environment prefix ``DATABASE_``)."""

    url: str = ""
    """libpq URL the service connects with, as the app role (DATABASE_URL). Empty: `make run` sets it."""
    pool_min_size: int = 2
    """Connections the pool keeps open (DATABASE_POOL_MIN_SIZE)."""
    pool_max_size: int = 16
    """Most connections the pool opens (DATABASE_POOL_MAX_SIZE)."""
    pool_timeout_seconds: float = 5.0
    """Wait for a free connection before failing with 503 (DATABASE_POOL_TIMEOUT_SECONDS)."""
    statement_timeout_ms: int = 10_000
    """Server-side limit on one statement (DATABASE_STATEMENT_TIMEOUT_MS)."""


class MigrationSettings(msgspec.Struct, frozen=True):
    """Schema migrations (environment prefix ``MIGRATIONS_``)."""

    database_url: str = ""
    """libpq URL of a role that may act as the owner role (MIGRATIONS_DATABASE_URL); empty: DATABASE_URL."""
    owner_role: str = "rehab_owner"
    """Role that owns every table; migrations run as it (MIGRATIONS_OWNER_ROLE)."""


class HttpSettings(msgspec.Struct, frozen=True):
    """HTTP behaviour (environment prefix ``HTTP_``)."""

    max_body_bytes: int = 1_048_576
    """Largest request body accepted; larger ones get 413 (HTTP_MAX_BODY_BYTES)."""
    cors_origins: list[str] = msgspec.field(default_factory=list)
    """Frontend origins allowed by CORS, comma-separated (HTTP_CORS_ORIGINS)."""


class AutomationSettings(msgspec.Struct, frozen=True):
    """Automation rules and their delivery (environment prefix ``AUTOMATION_``)."""

    max_attempts: int = 10
    """Attempts before a delivery is dead (AUTOMATION_MAX_ATTEMPTS)."""
    backoff_base_seconds: float = 5.0
    """Wait after the first failed attempt; doubles with each further one (AUTOMATION_BACKOFF_BASE_SECONDS)."""
    backoff_max_seconds: float = 3600.0
    """Longest wait between two attempts (AUTOMATION_BACKOFF_MAX_SECONDS)."""
    webhook_timeout_seconds: float = 10.0
    """Longest a webhook call may take before it counts as failed (AUTOMATION_WEBHOOK_TIMEOUT_SECONDS)."""
    allow_http_webhooks: bool = False
    """Accept plain http:// webhook URLs; for local development only (AUTOMATION_ALLOW_HTTP_WEBHOOKS)."""
    webhook_allowed_cidrs: list[str] = msgspec.field(default_factory=list)
    """Address ranges webhooks may reach although they are loopback, private or otherwise not public, e.g.
    a receiver inside the cluster; comma-separated CIDRs (AUTOMATION_WEBHOOK_ALLOWED_CIDRS)."""
    max_rules_per_organization: Annotated[int, msgspec.Meta(ge=1)] = 50
    """Most automation rules (enabled or not) one organization may have (AUTOMATION_MAX_RULES_PER_ORGANIZATION)."""

    def __post_init__(self) -> None:
        for cidr in self.webhook_allowed_cidrs:
            try:
                ipaddress.ip_network(cidr)
            except ValueError as exc:
                raise ValueError(f"AUTOMATION_WEBHOOK_ALLOWED_CIDRS: {exc}") from None


class DispatcherSettings(msgspec.Struct, frozen=True):
    """The automation dispatcher process, ``python -m core_api.automation.dispatcher`` (environment prefix
    ``DISPATCHER_``)."""

    poll_interval_seconds: float = 1.0
    """Pause between two looks for work when there was none (DISPATCHER_POLL_INTERVAL_SECONDS)."""
    batch_size: int = 100
    """Deliveries claimed and carried out at once, per organization (DISPATCHER_BATCH_SIZE)."""
    lease_seconds: float = 60.0
    """How long a claimed delivery stays with one dispatcher before another may retry it
    (DISPATCHER_LEASE_SECONDS); longer than the webhook timeout."""
    heartbeat_file: str = ""
    """File touched after every loop, for a liveness probe (DISPATCHER_HEARTBEAT_FILE); empty: none."""


class TelemetryTokenSettings(msgspec.Struct, frozen=True):
    """The telemetry tokens core-api issues (environment prefix ``TELEMETRY_TOKEN_``); see docs/privacy.md."""

    signing_key_file: str = ".data/dev-keys/telemetry-signing.pem"
    """Ed25519 private key (PEM) tokens are signed with (TELEMETRY_TOKEN_SIGNING_KEY_FILE); `make run`
    creates a development one."""
    published_key_files: list[str] = msgspec.field(default_factory=list)
    """More PEM keys whose public halves /.well-known/jwks.json keeps publishing, comma-separated: the
    previous signing key during a rotation (TELEMETRY_TOKEN_PUBLISHED_KEY_FILES)."""
    hash_key_file: str = ".data/dev-keys/telemetry-hash.key"
    """Secret (32+ random bytes) of the keyed hashes that stand for patients and organizations in
    telemetry (TELEMETRY_TOKEN_HASH_KEY_FILE); changing it cuts every later row off the earlier ones."""
    ttl_seconds: Annotated[int, msgspec.Meta(ge=1, le=600)] = 600
    """Lifetime of a token, at most 10 minutes: a revoked consent stops collection within it
    (TELEMETRY_TOKEN_TTL_SECONDS)."""
    issuer: str = "telerehab-core-api"
    """The tokens' `iss`; telemetry's AUTH_ISSUER (TELEMETRY_TOKEN_ISSUER)."""
    audience: str = "telerehab-telemetry"
    """The tokens' `aud`; telemetry's AUTH_AUDIENCE (TELEMETRY_TOKEN_AUDIENCE)."""


class PrivacySettings(msgspec.Struct, frozen=True):
    """Erasure and retention, run by ``make retention-job`` (environment prefix ``PRIVACY_``)."""

    clinical_retention_years: Annotated[int, msgspec.Meta(ge=1, le=100)] = 7
    """Years a finished enrollment's clinical records are kept (PRIVACY_CLINICAL_RETENTION_YEARS)."""
    erasure_grace_days: Annotated[int, msgspec.Meta(ge=0, le=30)] = 30
    """Days between an erasure request and the removal of the identity (PRIVACY_ERASURE_GRACE_DAYS); GDPR
    allows one month to act on a request."""
    telemetry_url: str = ""
    """Base URL of the telemetry service, where the retention job deletes an erased patient's telemetry and
    the dispatcher collects the evidence of completed sessions (PRIVACY_TELEMETRY_URL); empty: both wait
    until it is set."""


class EvidenceSettings(msgspec.Struct, frozen=True):
    """Collecting telemetry's evidence of completed sessions, in the dispatcher process (environment prefix
    ``EVIDENCE_``); telemetry's address is PRIVACY_TELEMETRY_URL. See docs/adherence.md, "Verified adherence"."""

    settle_seconds: Annotated[float, msgspec.Meta(ge=0)] = 120.0
    """Wait after a completion before its evidence is collected, so the app's last batches have landed
    (EVIDENCE_SETTLE_SECONDS)."""
    refresh_seconds: Annotated[float, msgspec.Meta(ge=0)] = 3600.0
    """Wait after the first collection before the one refresh that picks up late frames
    (EVIDENCE_REFRESH_SECONDS)."""
    batch_sessions: Annotated[int, msgspec.Meta(ge=1, le=500)] = 500
    """Exercise sessions asked about in one telemetry call, at most 500 (EVIDENCE_BATCH_SESSIONS)."""
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    """Longest one telemetry call may take before it counts as failed (EVIDENCE_TIMEOUT_SECONDS)."""
    lease_seconds: Annotated[float, msgspec.Meta(gt=0)] = 300.0
    """How long claimed collections stay with one dispatcher before another may take them over
    (EVIDENCE_LEASE_SECONDS); longer than a pass's telemetry calls."""
    backoff_base_seconds: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    """Wait after a collection's first failed attempt; doubles with each further one
    (EVIDENCE_BACKOFF_BASE_SECONDS)."""
    backoff_max_seconds: Annotated[float, msgspec.Meta(gt=0)] = 3600.0
    """Longest wait between two attempts; a collection is retried until it succeeds
    (EVIDENCE_BACKOFF_MAX_SECONDS)."""


class Settings(msgspec.Struct, frozen=True):
    database: DatabaseSettings
    migrations: MigrationSettings
    http: HttpSettings
    log: LogSettings
    auth: AuthSettings
    automation: AutomationSettings = msgspec.field(default_factory=AutomationSettings)
    dispatcher: DispatcherSettings = msgspec.field(default_factory=DispatcherSettings)
    telemetry_token: TelemetryTokenSettings = msgspec.field(default_factory=TelemetryTokenSettings)
    privacy: PrivacySettings = msgspec.field(default_factory=PrivacySettings)
    evidence: EvidenceSettings = msgspec.field(default_factory=EvidenceSettings)


SETTINGS_PREFIXES: dict[str, type[msgspec.Struct]] = {
    "DATABASE_": DatabaseSettings,
    "MIGRATIONS_": MigrationSettings,
    "HTTP_": HttpSettings,
    "LOG_": LogSettings,
    "AUTH_": AuthSettings,
    "AUTOMATION_": AutomationSettings,
    "DISPATCHER_": DispatcherSettings,
    "TELEMETRY_TOKEN_": TelemetryTokenSettings,
    "PRIVACY_": PrivacySettings,
    "EVIDENCE_": EvidenceSettings,
}


def load_settings() -> Settings:
    """Read every core-api setting from the environment."""
    return Settings(
        database=from_env(DatabaseSettings, "DATABASE_"),
        migrations=from_env(MigrationSettings, "MIGRATIONS_"),
        http=from_env(HttpSettings, "HTTP_"),
        log=from_env(LogSettings, "LOG_"),
        auth=from_env(AuthSettings, "AUTH_"),
        automation=from_env(AutomationSettings, "AUTOMATION_"),
        dispatcher=from_env(DispatcherSettings, "DISPATCHER_"),
        telemetry_token=from_env(TelemetryTokenSettings, "TELEMETRY_TOKEN_"),
        privacy=from_env(PrivacySettings, "PRIVACY_"),
        evidence=from_env(EvidenceSettings, "EVIDENCE_"),
    )
