"""Settings of the Espace Client, from CLIENT_* environment variables; the defaults talk to the local IdP."""
import os
import secrets
from pathlib import Path

DEFAULT_AUTHORITY = "http://localhost:8400/bakertillyrecette.onmicrosoft.com/v2.0"
DEFAULT_CLIENT_ID = "6a3f0c2e-8d4b-4e1a-9c7f-3b2d5e8a1f60"
DEFAULT_CLIENT_SECRET = "espace-client-secret-2026"
# The admin password made at first start, hashed (werkzeug), when CLIENT_ADMIN_PASSWORD is not set.
ADMIN_PASSWORD_FILE = "admin-password.hash"
SEED_DATA = Path(__file__).resolve().parent / "seed_data.yaml"


def data_dir(value=None):
    """Return the client app's data folder (its own database and secret), creating it."""
    path = Path(value or os.environ.get("CLIENT_DATA_DIR") or Path.cwd() / "client-data").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def admin_password():
    """CLIENT_ADMIN_PASSWORD, or None: then the password made at first start (ensure_admin_password) applies."""
    return os.environ.get("CLIENT_ADMIN_PASSWORD") or None


def ensure_admin_password(folder, renew=False):
    """Make the admin password at first start: random, stored hashed in the data folder.

    Return it when made by this call (the caller prints it), else None (it was made before; only its hash
    is kept, so `up --reset` makes a new one). Never a fixed default: anyone would know it.
    """
    from werkzeug.security import generate_password_hash

    path = Path(folder) / ADMIN_PASSWORD_FILE
    if renew:
        path.unlink(missing_ok=True)
    password = secrets.token_urlsafe(12)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made by an earlier start, or by another worker just now
        return None
    with os.fdopen(fd, "w") as f:
        f.write(generate_password_hash(password))
    return password


def admin_password_hash(folder):
    """The stored hash of the admin password made at first start, or None."""
    path = Path(folder) / ADMIN_PASSWORD_FILE
    return path.read_text().strip() if path.exists() else None


def secret_key(folder):
    """Return CLIENT_SECRET_KEY, or a random key kept in the data folder across restarts."""
    if os.environ.get("CLIENT_SECRET_KEY"):
        return os.environ["CLIENT_SECRET_KEY"]
    path = Path(folder) / "secret-key"
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def from_environment(overrides=None):
    """Build the Flask config mapping from the environment, then apply overrides."""
    overrides = dict(overrides or {})
    env = os.environ.get
    folder = data_dir(overrides.get("CLIENT_DATA_DIR"))
    config = {
        "CLIENT_DATA_DIR": str(folder),
        "SQLALCHEMY_DATABASE_URI": env("CLIENT_DATABASE_URL") or f"sqlite:///{folder / 'espace-client.sqlite3'}",
        # The OpenID Connect authority: the emulator's tenant, or https://login.microsoftonline.com/<tenant>/v2.0.
        "CLIENT_AUTHORITY": (env("CLIENT_AUTHORITY") or DEFAULT_AUTHORITY).rstrip("/"),
        "CLIENT_ID": env("CLIENT_ID") or DEFAULT_CLIENT_ID,
        "CLIENT_SECRET": env("CLIENT_SECRET") or DEFAULT_CLIENT_SECRET,
        "CLIENT_BASE_URL": (env("CLIENT_BASE_URL") or "http://localhost:8401").rstrip("/"),
        "CLIENT_SCOPE": env("CLIENT_SCOPE") or "openid profile email",
        # A CA bundle to trust for https to the IdP (the emulator's local CA with --https).
        "CLIENT_CA_BUNDLE": env("CLIENT_CA_BUNDLE") or None,
        # Microsoft Graph for invitations; default: derived from discovery's msgraph_host.
        "CLIENT_GRAPH_URL": (env("CLIENT_GRAPH_URL") or "").rstrip("/") or None,
        "CLIENT_ADMIN_PASSWORD": admin_password(),
        "CLIENT_SEED_DATA": env("CLIENT_SEED_DATA") or str(SEED_DATA),
        "SESSION_COOKIE_NAME": "espace_client_session",
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
    }
    config.update(overrides)
    config["CLIENT_DATA_DIR"] = str(data_dir(config["CLIENT_DATA_DIR"]))
    if "CLIENT_DATABASE_URL" in overrides:
        config["SQLALCHEMY_DATABASE_URI"] = overrides["CLIENT_DATABASE_URL"]
    elif "CLIENT_DATA_DIR" in overrides and not env("CLIENT_DATABASE_URL"):
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(config['CLIENT_DATA_DIR']) / 'espace-client.sqlite3'}"
    if "SECRET_KEY" not in config:
        config["SECRET_KEY"] = config.get("CLIENT_SECRET_KEY") or secret_key(config["CLIENT_DATA_DIR"])
    config["SESSION_COOKIE_SECURE"] = config["CLIENT_BASE_URL"].startswith("https://")
    return config
