"""Typed settings, read from the environment once.

Every setting has a `BAOXUE_` variable; the README's configuration table lists them. The
defaults serve one machine with nothing installed (SQLite under ./var, jobs in-process).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET_KEY = "baoxue-development-secret-do-not-use-in-production"


class ConfigurationError(RuntimeError):
    """Raised when the environment describes a configuration that must not start."""


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    data_dir: Path = PROJECT_ROOT / "var"
    database_url: str = ""
    database_admin_url: str = ""
    redis_url: str = ""
    secret_key: str = DEFAULT_SECRET_KEY
    host: str = "127.0.0.1"
    port: int = 8000
    session_idle_minutes: int = 8 * 60
    session_absolute_hours: int = 7 * 24
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    login_address_max_failures: int = 20
    login_address_window_minutes: int = 15
    worker_timeout_ms: int = 100
    redis_timeout_ms: int = 500
    job_lease_seconds: int = 60
    job_resend_seconds: int = 300
    dispatch_interval_seconds: int = 5
    scheduler_interval_seconds: int = 60
    # Notifications delivered outside the page (optional; nothing set: the page only).
    notify_smtp_host: str = ""
    notify_smtp_port: int = 25
    notify_smtp_from: str = ""
    notify_smtp_user: str = ""
    notify_smtp_password: str = ""
    notify_smtp_starttls: bool = False
    notify_webhook_url: str = ""  # the township's messaging gateway: a JSON POST per notification
    notify_webhook_token: str = ""  # sent as `Authorization: Bearer ...` when set
    notify_base_url: str = ""  # what a notification's link starts with outside the page (https://baoxue.example.cn)
    notify_timeout_seconds: int = 10

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'baoxue.sqlite3'}"

    @property
    def migration_database_url(self) -> str:
        """Migrations run as the owner of the tables; the app connects as a role that owns none."""
        return self.database_admin_url or self.effective_database_url

    @property
    def is_postgresql(self) -> bool:
        return self.effective_database_url.startswith("postgresql")

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    def check(self) -> None:
        if self.is_production and self.secret_key == DEFAULT_SECRET_KEY:
            raise ConfigurationError(
                "BAOXUE_SECRET_KEY is the development default; production refuses to start with it."
            )
        if self.is_production and len(self.secret_key) < 32:
            raise ConfigurationError("BAOXUE_SECRET_KEY must be at least 32 characters in production.")
        if self.environment not in {"development", "test", "production"}:
            raise ConfigurationError(
                f"BAOXUE_ENV must be development, test or production, not {self.environment!r}."
            )


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}.") from exc


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("BAOXUE_DATA_DIR") or PROJECT_ROOT / "var").resolve()
    settings = Settings(
        environment=env.get("BAOXUE_ENV", "development"),
        data_dir=data_dir,
        database_url=_normalise_db_url(env.get("BAOXUE_DATABASE_URL", "")),
        database_admin_url=_normalise_db_url(env.get("BAOXUE_DATABASE_ADMIN_URL", "")),
        redis_url=env.get("BAOXUE_REDIS_URL", ""),
        secret_key=env.get("BAOXUE_SECRET_KEY", DEFAULT_SECRET_KEY),
        host=env.get("BAOXUE_HOST", "127.0.0.1"),
        port=_int(env, "BAOXUE_PORT", 8000),
        session_idle_minutes=_int(env, "BAOXUE_SESSION_IDLE_MINUTES", 8 * 60),
        session_absolute_hours=_int(env, "BAOXUE_SESSION_ABSOLUTE_HOURS", 7 * 24),
        login_max_failures=_int(env, "BAOXUE_LOGIN_MAX_FAILURES", 5),
        login_lockout_minutes=_int(env, "BAOXUE_LOGIN_LOCKOUT_MINUTES", 15),
        login_address_max_failures=_int(env, "BAOXUE_LOGIN_ADDRESS_MAX_FAILURES", 20),
        login_address_window_minutes=_int(env, "BAOXUE_LOGIN_ADDRESS_WINDOW_MINUTES", 15),
        worker_timeout_ms=_int(env, "BAOXUE_WORKER_TIMEOUT_MS", 100),
        redis_timeout_ms=_int(env, "BAOXUE_REDIS_TIMEOUT_MS", 500),
        job_lease_seconds=_int(env, "BAOXUE_JOB_LEASE_SECONDS", 60),
        job_resend_seconds=_int(env, "BAOXUE_JOB_RESEND_SECONDS", 300),
        dispatch_interval_seconds=_int(env, "BAOXUE_DISPATCH_INTERVAL_SECONDS", 5),
        scheduler_interval_seconds=_int(env, "BAOXUE_SCHEDULER_INTERVAL_SECONDS", 60),
        notify_smtp_host=env.get("BAOXUE_NOTIFY_SMTP_HOST", ""),
        notify_smtp_port=_int(env, "BAOXUE_NOTIFY_SMTP_PORT", 25),
        notify_smtp_from=env.get("BAOXUE_NOTIFY_SMTP_FROM", ""),
        notify_smtp_user=env.get("BAOXUE_NOTIFY_SMTP_USER", ""),
        notify_smtp_password=env.get("BAOXUE_NOTIFY_SMTP_PASSWORD", ""),
        notify_smtp_starttls=_bool(env.get("BAOXUE_NOTIFY_SMTP_STARTTLS", "")),
        notify_webhook_url=env.get("BAOXUE_NOTIFY_WEBHOOK_URL", ""),
        notify_webhook_token=env.get("BAOXUE_NOTIFY_WEBHOOK_TOKEN", ""),
        notify_base_url=env.get("BAOXUE_NOTIFY_BASE_URL", "").rstrip("/"),
        notify_timeout_seconds=_int(env, "BAOXUE_NOTIFY_TIMEOUT_SECONDS", 10),
    )
    settings.check()
    return settings


def _normalise_db_url(url: str) -> str:
    """Accept the usual `postgresql://` spelling and use psycopg 3 for it."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def reset_settings_cache() -> None:
    """Tests change the environment and then call this; nothing else should."""
    get_settings.cache_clear()
