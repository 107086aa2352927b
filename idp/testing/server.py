"""`idp-emulator serve` in a subprocess, for test suites: the pytest plugin's `idp` fixture and the project's own tests.

    from idp.testing.server import LiveServer

    with LiveServer(tmp_path / "idp", https=True) as server:
        requests.get(f"{server.base_url}/…", verify=str(server.ca_path))
"""
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

FAST_HASH = "pbkdf2:sha256:1000"  # seeded passwords hashed in a millisecond: a test server needs no brute-force cost
# A test server's waiting pages ask again every 200 ms (IDP_POLL_MS) unless the caller's environment says otherwise:
# a browser test that answers the virtual phone goes on at once instead of waiting for the next 1.5 s tick.
FAST_POLL_MS = "200"
# Variables of the caller's environment that would point the server at someone else's data or address.
ISOLATED = ("IDP_DATA_DIR", "IDP_DATABASE_URL", "IDP_BASE_URL", "IDP_HOST", "IDP_LISTEN_HOST", "IDP_SECRET_KEY",
            "IDP_SMTP", "IDP_SMTP_HOST", "IDP_SMTP_PORT")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """`idp-emulator serve` on a free port (or `port`), on its own data folder and its own SMTP port.

    Its environment is the caller's without ISOLATED, so it never uses another emulator's data, plus extra_env (a
    database URL, IDP_REFRESH_TOKENS, …); serve_args are more `serve` options (e.g. ["--keep-alive", "1"]).
    """

    def __init__(self, data_dir, port=None, https=False, workers=2, extra_env=None, serve_args=()):
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.https = https
        self.workers = workers
        self.serve_args = list(serve_args)
        # Its own SMTP port, so mail sent by one server never lands in another's mailbox.
        self.extra_env = {"IDP_SMTP_PORT": str(free_port()), **(extra_env or {})}
        self.smtp_port = int(self.extra_env["IDP_SMTP_PORT"])
        self.process = None
        self._log = None

    @property
    def env(self):
        from ..cli import child_environment  # this very package first on PYTHONPATH (the server runs `python -P`)

        inherited = {k: v for k, v in child_environment().items() if k not in ISOLATED}
        return {"IDP_POLL_MS": FAST_POLL_MS, **inherited, "IDP_DATA_DIR": str(self.data_dir),
                "IDP_PASSWORD_HASH": FAST_HASH, **self.extra_env}

    @property
    def base_url(self):
        return f"{'https' if self.https else 'http'}://127.0.0.1:{self.port}"

    @property
    def ca_path(self):
        """The local CA that signed the server's certificate (with https=True)."""
        return self.data_dir / "tls" / "idp-emulator-ca.pem"

    @property
    def log_path(self):
        return self.data_dir / "server.log"

    def cli(self, *args):
        """Run an `idp-emulator` command on this server's data folder; return the CompletedProcess."""
        return subprocess.run([sys.executable, "-P", "-m", "idp.cli", *args], env=self.env, capture_output=True,
                              text=True, timeout=120)

    def start(self, timeout=30):
        """Start the server and return once it answers HTTP requests (it has its schema, key and seeds by then)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [sys.executable, "-P", "-m", "idp.cli", "serve", "--port", str(self.port), "--workers", str(self.workers),
                *(["--https"] if self.https else []), *self.serve_args]
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(args, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"idp-emulator exited ({self.process.returncode}):\n{self.log_path.read_text()}")
            try:
                # Any answer will do: the control API may want a key the server was given.
                requests.get(f"{self.base_url}/_emulator/api/scenarios", timeout=1,
                             verify=str(self.ca_path) if self.https else True)
                return self
            except (requests.RequestException, OSError):  # OSError: the CA file is not written yet
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"idp-emulator did not start in {timeout} s:\n{self.log_path.read_text()}")

    def stop(self):
        """Stop the server as Ctrl-C does: gunicorn's quick shutdown (SIGTERM's graceful one waits for idle
        keep-alive connections, seconds per server)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self):
        self.stop()
        return self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
