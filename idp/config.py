"""Settings of the IdP, read from IDP_* environment variables with laptop-friendly defaults."""
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = Path(os.environ.get("IDP_SEEDS_DIR", PROJECT_ROOT / "seeds"))
# Seconds an idle keep-alive connection stays open. It must outlast the idle time of the clients'
# connection pools, so that the client always drops an idle connection before the server does: a
# server that closes first races a client reusing the connection at that moment ("other side
# closed", "connection reset"). gunicorn's default, 2 s, is shorter than Node's fetch (undici, 4 s);
# 120 s also outlasts Go's 90 s and .NET's 60 s. An idle connection costs a socket in the gthread
# worker's poller, not a thread; past worker_connections (1000) gunicorn answers "Connection: close".
KEEPALIVE_SECONDS = 120
REFRESH_TOKEN_MODES = ("microsoft", "rotate")


def data_dir(value=None):
    """Return the data folder (local files: the SQLite database by default, the local CA), creating it."""
    path = Path(value or os.environ.get("IDP_DATA_DIR") or Path.cwd() / "idp-data").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


class SettingError(ValueError):
    """A setting out of its values: the command that starts a server says so in one line."""


POLL_MS = 1500
POLL_RANGE = (100, 60000)


def poll_ms(value):
    """IDP_POLL_MS as an integer of milliseconds within POLL_RANGE, or a SettingError that says what it must be."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not POLL_RANGE[0] <= number <= POLL_RANGE[1]:
        low, high = POLL_RANGE
        raise SettingError(f"IDP_POLL_MS must be a whole number of milliseconds from {low} to {high}, not {value!r}")
    return number


def from_environment(overrides=None):
    """Build the Flask config mapping from the environment, then apply overrides."""
    overrides = dict(overrides or {})
    folder = data_dir(overrides.get("IDP_DATA_DIR"))
    env = os.environ.get
    config = {
        "IDP_DATA_DIR": str(folder),
        "SQLALCHEMY_DATABASE_URI": env("IDP_DATABASE_URL") or f"sqlite:///{folder / 'idp.sqlite3'}",
        "IDP_BASE_URL": (env("IDP_BASE_URL") or "").rstrip("/") or None,
        "IDP_CAPTCHA": env("IDP_CAPTCHA", "puzzle"),
        # Demo mode when the setting "demo" is unset (idp.trainer.demo); `up --demo` / `serve --demo` set it.
        "IDP_DEMO": env("IDP_DEMO", "").lower() in ("1", "true", "yes", "on"),
        "IDP_CONTROL_KEY": env("IDP_CONTROL_KEY"),
        # werkzeug hash method; lower the cost (e.g. "pbkdf2:sha256:1000") for test users.
        "IDP_PASSWORD_HASH": env("IDP_PASSWORD_HASH", "scrypt:32768:8:1"),
        "IDP_SMTP_PORT": int(env("IDP_SMTP_PORT", "8425")),
        "IDP_LISTEN_HOST": env("IDP_LISTEN_HOST", "127.0.0.1"),
        # More host names the emulator answers for, besides loopback, IDP_BASE_URL's and --host's (idp.security).
        "IDP_ALLOWED_HOSTS": env("IDP_ALLOWED_HOSTS", ""),
        # microsoft: a refresh token stays valid after use, until it expires (Microsoft's behaviour);
        # rotate: each use revokes it, and a reuse revokes every token of that sign-in (strict QA mode).
        "IDP_REFRESH_TOKENS": env("IDP_REFRESH_TOKENS", "microsoft"),
        # How often a page that waits (for the virtual phone, a notification, the journey the presenter follows)
        # asks the server again; lower in CI, where every wait is a test's time.
        "IDP_POLL_MS": env("IDP_POLL_MS", str(POLL_MS)),
        "IDP_LOCKOUT_THRESHOLD": 10,
        "IDP_LOCKOUT_SECONDS": 60,
        "SESSION_COOKIE_NAME": "ESTSAUTH",
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        "WTF_CSRF_TIME_LIMIT": None,
        # The session-bound token (plus SameSite cookies) protects the forms; scripted HTTPS clients send no Referer.
        "WTF_CSRF_SSL_STRICT": False,
        # Screens show their own French messages, never WTForms' built-in ones.
        "WTF_I18N_ENABLED": False,
        "BABEL_DEFAULT_LOCALE": "fr",
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "MAX_FORM_MEMORY_SIZE": 256 * 1024,
        "MAX_FORM_PARTS": 200,
    }
    config.update(overrides)
    if config["IDP_REFRESH_TOKENS"] not in REFRESH_TOKEN_MODES:
        raise SettingError(f"IDP_REFRESH_TOKENS must be one of {', '.join(REFRESH_TOKEN_MODES)}, "
                         f"not {config['IDP_REFRESH_TOKENS']!r}")
    config["IDP_POLL_MS"] = poll_ms(config["IDP_POLL_MS"])
    config["IDP_DATA_DIR"] = str(data_dir(config["IDP_DATA_DIR"]))
    if "SECRET_KEY" not in config and env("IDP_SECRET_KEY"):
        # Else create_app reads the secret shared in the database (idp.oidc.keys.session_secret).
        config["SECRET_KEY"] = env("IDP_SECRET_KEY")
    if "IDP_DATABASE_URL" in overrides:
        config["SQLALCHEMY_DATABASE_URI"] = overrides["IDP_DATABASE_URL"]
    return config
