"""Settings: one object read from ``ORDERCHAT_*`` variables; refuses a bad setup in one line."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from orderchat.errors import ConfigError

SECRET_FILE = "jwt-secret"
MIN_SECRET_BYTES = 32


class Settings(BaseSettings):
    """Everything the service reads from its environment (SPEC section 1)."""

    model_config = SettingsConfigDict(env_prefix="ORDERCHAT_", extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    data_dir: Path = Path("./orderchat-data")
    database_url: str | None = None
    redis_url: str | None = None
    sqs_queue_url: str | None = None
    aws_endpoint_url: str | None = None
    jwt_secret: SecretStr | None = None
    jwt_public_key: str | None = None
    jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    allowed_origins: str | None = None
    max_message_chars: int = Field(default=4000, ge=1, le=1_000_000)
    auto_migrate: bool = True
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["text", "json"] = "text"
    contact_details: Literal["mask", "allow"] = "mask"  # SPEC 13
    phone_region: str = "US"  # national phone formats read for this region (SPEC 13)

    # Tuning knobs beyond SPEC's table (documented in the README).
    rate_per_second: float = Field(default=10.0, gt=0)
    rate_burst: int = Field(default=20, ge=1)
    max_connections_per_user: int = Field(default=10, ge=1)
    ws_ping_interval: float = Field(default=20.0, gt=0)
    ws_ping_timeout: float = Field(default=60.0, gt=0)
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    sqs_wait_seconds: int = Field(default=20, ge=0, le=20)  # ReceiveMessage long poll
    # Reconnect storms (issue 21, realtime/admission.py): upgrades checked at once, waiting,
    # and the Retry-After of the 503 that sheds the rest.
    handshake_concurrency: int = Field(default=32, ge=1)
    handshake_queue: int = Field(default=512, ge=0)
    handshake_retry_after: int = Field(default=1, ge=1)

    @field_validator("log_level", "log_format", "contact_details", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("sqs_queue_url", "aws_endpoint_url", "jwks_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("phone_region")
    @classmethod
    def _phone_region(cls, value: str) -> str:
        import phonenumbers  # here only: settings stay cheap to import elsewhere

        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not a region code (an ISO 3166 code like US, GB, DE)")
        return region

    @field_validator("jwt_secret")
    @classmethod
    def _secret_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        if len(value.get_secret_value().encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"must be at least {MIN_SECRET_BYTES} bytes")
        return value

    @field_validator("jwt_public_key")
    @classmethod
    def _public_key(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        if "BEGIN PUBLIC KEY" not in value:
            raise ValueError("must be a PEM public key (-----BEGIN PUBLIC KEY-----)")
        return value

    @property
    def origins(self) -> frozenset[str] | None:
        """Allowed browser origins; ``None`` means same host only."""
        if not self.allowed_origins:
            return None
        return frozenset(
            o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()
        )

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'orderchat.db').resolve()}"

    @property
    def uses_asymmetric_keys(self) -> bool:
        return self.jwt_public_key is not None or self.jwks_url is not None


def load_settings(**overrides: object) -> Settings:
    """Read the environment; a bad value raises ConfigError naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"ORDERCHAT_{field.upper()}: {msg}") from None


def hs256_secret(settings: Settings, *, create: bool = True) -> str | None:
    """The HS256 secret: configured, else the generated file in the data dir.

    With a public key or JWKS configured and no explicit secret, HS256 is off.
    """
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value()
    if settings.uses_asymmetric_keys:
        return None
    path = settings.data_dir / SECRET_FILE
    if path.exists():
        if path.stat().st_mode & 0o077:
            raise ConfigError(
                f"ORDERCHAT_DATA_DIR: {path} must not be readable by others (chmod 600)"
            )
        return _file_secret(path)
    if not create:
        return None
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secret + "\n")
    except FileExistsError:
        return _file_secret(path)
    except OSError as exc:
        raise ConfigError(f"ORDERCHAT_DATA_DIR: cannot write {path}: {exc.strerror}") from None
    return secret


def _file_secret(path: Path) -> str:
    """The secret file, held to the rule ``ORDERCHAT_JWT_SECRET`` is (a hand-made file may
    be short, or just a newline)."""
    secret = path.read_text().strip()
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"ORDERCHAT_DATA_DIR: {path} must hold a secret of at least {MIN_SECRET_BYTES} "
            "bytes (delete it to have one generated)"
        )
    return secret
