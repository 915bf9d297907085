"""Configuration from the environment, with safe development defaults."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
DEV_SECRET_KEY = "dev-only-not-secret"


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def from_environment() -> dict:
    instance = Path(os.environ.get("SANMAI_INSTANCE_DIR", BASE_DIR / "instance"))
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'sanmai.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgres://")
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY", DEV_SECRET_KEY),
        "SANMAI_ENV": os.environ.get("SANMAI_ENV", "development"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_DIR": str(instance),
        "SANMAI_FILE_STORAGE": os.environ.get("SANMAI_FILE_STORAGE", "local"),
        "SANMAI_UPLOAD_DIR": os.environ.get("SANMAI_UPLOAD_DIR", str(instance / "files")),
        "SANMAI_CACHE_DIR": os.environ.get("SANMAI_CACHE_DIR", str(instance / "cache")),
        "SANMAI_MAX_ATTACHMENT_MB": float(os.environ.get("SANMAI_MAX_ATTACHMENT_MB", "2")),
        "SANMAI_BASE_URL": os.environ.get("SANMAI_BASE_URL", "http://127.0.0.1:5000"),
        "SANMAI_WAREKI": _bool("SANMAI_WAREKI"),
        "SANMAI_REMIND_DAYS": _int("SANMAI_REMIND_DAYS", 3),
        "SANMAI_ICAL_ALARM_DAYS": _int("SANMAI_ICAL_ALARM_DAYS", 1),
        "SANMAI_CONFIRM_LINK_HOURS": _int("SANMAI_CONFIRM_LINK_HOURS", 72),
        "SANMAI_SMTP_HOST": os.environ.get("SANMAI_SMTP_HOST", "localhost"),
        "SANMAI_SMTP_PORT": _int("SANMAI_SMTP_PORT", 25),
        "SANMAI_SMTP_TLS": os.environ.get("SANMAI_SMTP_TLS", "off"),
        "SANMAI_SMTP_USER": os.environ.get("SANMAI_SMTP_USER", ""),
        "SANMAI_SMTP_PASSWORD": os.environ.get("SANMAI_SMTP_PASSWORD", ""),
        "SANMAI_MAIL_FROM": os.environ.get("SANMAI_MAIL_FROM", "sanmai@localhost"),
        "SANMAI_LOGIN_MAX_FAILURES": _int("SANMAI_LOGIN_MAX_FAILURES", 5),
        "SANMAI_LOGIN_LOCK_SECONDS": _int("SANMAI_LOGIN_LOCK_SECONDS", 30),
        "SANMAI_LOGIN_MAX_FAILURES_PER_ADDRESS": _int("SANMAI_LOGIN_MAX_FAILURES_PER_ADDRESS", 30),
        "SANMAI_LOGIN_MAX_FAILURES_PER_LOGIN": _int("SANMAI_LOGIN_MAX_FAILURES_PER_LOGIN", 100),
        "SANMAI_LOGIN_WINDOW_SECONDS": _int("SANMAI_LOGIN_WINDOW_SECONDS", 900),
        # How long a write waits for another's write lock before it answers 503 (busy).
        "SANMAI_DB_LOCK_WAIT": float(os.environ.get("SANMAI_DB_LOCK_WAIT", "3")),
        "SANMAI_LOG_FORMAT": os.environ.get("SANMAI_LOG_FORMAT", "text"),
        "SANMAI_SERVER_ID": os.environ.get("SANMAI_SERVER_ID", ""),
        "SANMAI_TRUSTED_PROXIES": int(os.environ.get("SANMAI_TRUSTED_PROXIES", "0")),
        # The PDF renderer process (exports/renderer.py; SANMAI_PDF_IDLE_SECONDS is read there).
        "SANMAI_PDF_TIMEOUT": _int("SANMAI_PDF_TIMEOUT", 25),
        "SANMAI_PDF_MAX_RENDERS": _int("SANMAI_PDF_MAX_RENDERS", 200),
        # "page": start the renderer as a page offering a PDF is served; "1": also as a
        # gunicorn worker starts (gunicorn.conf.py); "0": only for the PDF itself.
        "SANMAI_PDF_WARM": os.environ.get("SANMAI_PDF_WARM", "page"),
        # Directory sign-in: the key that encrypts bind passwords (secretbox.py), and how
        # long to wait for a directory server before saying it is unavailable.
        "SANMAI_SECRET_BOX_KEY": os.environ.get("SANMAI_SECRET_BOX_KEY", ""),
        "SANMAI_DIRECTORY_TIMEOUT": _int("SANMAI_DIRECTORY_TIMEOUT", 5),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("SANMAI_SECURE_COOKIES"),
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "ja",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Tokyo",
        "LANGUAGES": ["ja", "en"],
    }
