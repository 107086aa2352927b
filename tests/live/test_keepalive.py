"""Keep-alive: a client that reuses its connection after an idle pause is not reset (`serve --keep-alive`)."""
import http.client
import ssl
import time

from ..conftest import TENANT, LiveServer

DISCOVERY = f"/{TENANT}/v2.0/.well-known/openid-configuration"
# Longer than gunicorn's default keep-alive (2 s), shorter than Node's fetch keeps an idle socket (4 s).
IDLE = 3


def get(connection):
    connection.request("GET", DISCOVERY)
    response = connection.getresponse()
    response.read()
    return response


def test_a_connection_reused_after_an_idle_pause_is_served(client_libraries_server):
    server = client_libraries_server  # `serve --https` with the default keep-alive
    context = ssl.create_default_context(cafile=str(server.ca_path))
    connection = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=10, context=context)
    try:
        assert get(connection).status == 200
        socket = connection.sock
        time.sleep(IDLE)
        second = get(connection)
        assert second.status == 200
        assert connection.sock is socket  # the same connection, not a new one
        assert second.getheader("Connection", "").lower() != "close"
    finally:
        connection.close()


def test_the_keep_alive_timeout_is_set_by_serve(tmp_path):
    server = LiveServer(tmp_path / "short", serve_args=["--keep-alive", "1"])
    server.start()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        assert get(connection).status == 200
        time.sleep(2)
        # The server closed the idle connection after 1 s: this is the race clients lose.
        try:
            get(connection)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            pass
        else:
            raise AssertionError("the idle connection was still open after the keep-alive timeout")
    finally:
        connection.close()
        server.stop()


def test_the_keep_alive_timeout_is_set_by_client(tmp_path):
    """`idp-emulator client --keep-alive` reaches the Espace Client's server too (it used to keep gunicorn's 2 s)."""
    import os
    import subprocess
    import sys

    from ..conftest import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "CLIENT_"))}
    env.update(CLIENT_DATA_DIR=str(tmp_path / "client"), IDP_DATA_DIR=str(tmp_path / "idp"))
    process = subprocess.Popen([sys.executable, "-m", "idp.cli", "client", "--port", str(port), "--keep-alive", "1"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                connection.request("GET", "/")
                first = connection.getresponse()
                first.read()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "the Espace Client did not start"
                time.sleep(0.1)
        assert first.status == 200
        time.sleep(2.5)
        try:
            connection.request("GET", "/")
            connection.getresponse().read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            pass
        else:
            raise AssertionError("the Espace Client kept the idle connection open past --keep-alive 1")
        connection.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
