"""Connections: a client that reuses its connection after an idle pause is not reset (`serve --keep-alive`), and
connections opened ahead of need hold no thread (idp.serving.ThreadWorker)."""
import http.client
import socket
import ssl
import time

import pytest

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


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_connections_opened_ahead_of_need_do_not_hold_up_requests(tmp_path, https):
    """A browser opens connections before it has a request for them (Chromium preconnects, the TLS handshake
    included). gunicorn's gthread worker gave each a thread, for up to 5 s, and over TLS for as long as the client
    kept it: as many idle connections as threads held every request back."""
    server = LiveServer(tmp_path / "idle", https=https, workers=1, serve_args=["--threads", "2", "--keep-alive", "2"])
    server.start()
    context = ssl.create_default_context(cafile=str(server.ca_path)) if https else None

    def connect():
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        return context.wrap_socket(sock, server_hostname="localhost") if https else sock  # the handshake, then nothing

    idle = [connect() for _ in range(6)]
    connection = (http.client.HTTPSConnection("localhost", server.port, timeout=10, context=context) if https
                  else http.client.HTTPConnection("127.0.0.1", server.port, timeout=10))
    try:
        time.sleep(0.3)  # the worker has accepted them all
        started = time.monotonic()
        assert get(connection).status == 200
        assert time.monotonic() - started < 2, "a request waited behind connections that had sent nothing"
        # A connection opened early is served when its request comes.
        idle[0].sendall(f"GET {DISCOVERY} HTTP/1.1\r\nHost: localhost:{server.port}\r\n\r\n".encode())
        assert idle[0].recv(64).startswith(b"HTTP/1.1 200 ")
        # One that never sends anything is closed after the keep-alive timeout, as an idle kept-alive one is.
        idle[1].settimeout(6)
        assert idle[1].recv(64) == b""
    finally:
        for sock in idle:
            sock.close()
        connection.close()
        server.stop()
