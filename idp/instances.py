"""The running `idp-emulator up` instances of this user, so that `invite`, `mail`, `sms`, `totp` and `approve`
find the one to talk to from any folder.

`up` writes one JSON record per instance in the user's state folder (`$XDG_STATE_HOME/idp-emulator/instances/`,
by default `~/.local/state/idp-emulator/instances/`) and removes it when it stops; a record whose process is
gone (killed, machine restarted) is ignored and removed. The data folder's `up.json` is still written and read,
for scripts that rely on `IDP_DATA_DIR`.
"""
import json
import os
from pathlib import Path

from . import config

RUNTIME_FILE = "up.json"


class InstanceError(Exception):
    """No instance can be chosen (several run and none was named); the message lists them."""


def state_path():
    """The per-user folder of instance records, as configured (it may not exist)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "idp-emulator" / "instances"


def state_dir():
    """The per-user folder of instance records (created)."""
    path = state_path()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _record_path(idp_url):
    # One record per IdP URL: two instances can never share one (they would share the port).
    name = idp_url.split("://", 1)[-1].replace(":", "-").replace("/", "_")
    return state_dir() / f"{name}.json"


def register(**values):
    """Record the instance `up` started (values: idp_url, client_url, domain, ca, data_dir, smtp_port)."""
    values = dict(values, pid=os.getpid())
    text = json.dumps(values, indent=2)
    (Path(values["data_dir"]) / RUNTIME_FILE).write_text(text)
    path = _record_path(values["idp_url"])
    # A temporary file of this process's own: two `up` starting on one URL (the second then fails to bind) must not
    # rename each other's file away.
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(text)
    temporary.replace(path)  # readers never see half a record
    return path


def unregister(idp_url):
    """Forget the instance (when `up` stops); only this process's record is removed."""
    path = _record_path(idp_url)
    record = _read(path)
    if record.get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def _read(path):
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _alive(pid):
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    try:
        # A pid can be reused after a crash or a reboot: the process must still be an idp-emulator.
        return b"idp" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # no /proc (macOS): trust the pid
        return True


def running():
    """The records of the instances still running, by IdP URL; stale records are removed."""
    found = []
    for path in sorted(state_dir().glob("*.json")):
        record = _read(path)
        if record.get("idp_url") and _alive(record.get("pid")):
            found.append(record)
        else:
            path.unlink(missing_ok=True)
    return found


def same_folder(a, b):
    try:
        return Path(a).resolve() == Path(b).resolve()
    except (TypeError, OSError):
        return False


def find(idp_url=None):
    """Return the record of the instance to talk to, or {} when none is known.

    In order: the URL given (--idp-url or IDP_URL), else the instance of IDP_DATA_DIR when that is set,
    else the only running instance, else (several run) InstanceError naming them, else the `up.json`
    of ./idp-data as before (a stale one is ignored).
    """
    idp_url = (idp_url or os.environ.get("IDP_URL") or "").rstrip("/")
    instances = running()
    if idp_url:
        for record in instances:
            if record["idp_url"].rstrip("/") == idp_url:
                return record
        return {"idp_url": idp_url}
    if os.environ.get("IDP_DATA_DIR"):
        folder = config.data_dir()
        for record in instances:
            if same_folder(record.get("data_dir"), folder):
                return record
        return legacy(folder)
    if len(instances) == 1:
        return instances[0]
    if len(instances) > 1:
        listed = "; ".join(f"{r['idp_url']} (data {r.get('data_dir', '?')})" for r in instances)
        raise InstanceError(f"{len(instances)} idp-emulator instances are running: {listed}. "
                            "Choose one with --idp-url URL or IDP_URL=URL.")
    return legacy(Path.cwd() / "idp-data")


def legacy(folder):
    """The `up.json` of a data folder, when the `up` that wrote it still runs."""
    record = _read(Path(folder) / RUNTIME_FILE)
    if record.get("idp_url") and ("pid" not in record or _alive(record.get("pid"))):
        return record
    return {}
