"""Serve a Flask app factory with gunicorn (production) or Flask's server (--debug only)."""
import errno
import gc
import select
import selectors
import ssl
import time
from functools import partial

from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import _DEFER, TConn
from gunicorn.workers.gthread import ThreadWorker as GunicornThreadWorker

from . import config


def hold_collector():
    """Keep the cyclic garbage collector off while a server's app is built, until release_collector.

    Its passes over the objects of the imports and of create_app took about a tenth of the cold start's CPU;
    the cycles they would have freed are a few hundred kB, left in place.
    """
    gc.disable()


def release_collector():
    """Freeze what was built, then turn the collector back on: it sees only newer objects (on first, it would
    pass over everything allocated while it was off, at once)."""
    gc.freeze()
    gc.enable()


class GunicornApp(BaseApplication):
    def __init__(self, factory, options):
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            if value is not None and key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self):
        return self.factory()


class ThreadWorker(GunicornThreadWorker):
    """gunicorn's gthread worker, except that a connection waits for its first request on the poller, not in a thread.

    gunicorn hands a new connection to a thread at once, and the thread waits up to 5 s for its first bytes; over
    TLS, once the handshake is done, it waits for the request with no limit at all. Browsers open connections ahead
    of need (Chromium preconnects, TLS handshake included) and some are never used: as many of them as threads held
    every request back, a waiting page's status question among them. Here a new connection goes where gunicorn puts
    one that sent nothing in those 5 s (its pending connections, closed after the keep-alive timeout) and takes a
    thread when its bytes arrive; over TLS, the thread makes the handshake and gives the connection back to the
    poller until its request comes.
    """

    def accept(self, listener):
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())  # non-blocking until it reads
        conn.timeout = time.monotonic() + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn))

    def handle(self, conn):
        if self.cfg.is_ssl and not conn.initialized:
            try:
                conn.init()  # the TLS handshake (the ClientHello is there: the poller saw it)
            except (OSError, ssl.SSLError) as exc:  # a client that is gone, or that does not speak TLS
                self.log.debug("TLS handshake failed: %s", exc)
                return False
            if not conn.is_http2 and not conn.sock.pending() and not _readable(conn.sock):
                return _DEFER  # no request yet: it is awaited on the poller
        return super().handle(conn)


def _readable(sock):
    """Whether bytes wait on the socket now (no waiting)."""
    poll = select.poll()
    poll.register(sock, select.POLLIN)
    return bool(poll.poll(0))


def _post_fork(server, worker):
    """Each worker opens its own database connections (never share a pool across fork)."""
    app = worker.app.callable
    ext = app.extensions.get("sqlalchemy") if app is not None else None
    if ext is not None:
        with app.app_context():
            ext.engine.dispose(close=False)


def serve(factory, host, port, workers=2, threads=1, certfile=None, keyfile=None, debug=False, on_ready=None,
          keepalive=config.KEEPALIVE_SECONDS, preload=True):
    """Run the app until interrupted; preload=False: the factory runs in each worker, never in the master."""
    if debug:
        app = factory()
        release_collector()
        ssl = (certfile, keyfile) if certfile else None
        app.run(host=host, port=port, debug=True, use_reloader=False, ssl_context=ssl)
        return
    options = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "idp.serving.ThreadWorker" if threads > 1 else "sync",
        "preload_app": preload,
        "certfile": certfile,
        "keyfile": keyfile,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "timeout": 60,
        "graceful_timeout": 5,
        "keepalive": keepalive,  # gthread workers only: sync workers close every connection
        "post_fork": _post_fork,
        "when_ready": (lambda server: on_ready()) if on_ready else None,
        "control_socket_disable": True,
    }
    # The app is built (preload_app): move its objects out of the collector's reach so that the
    # workers' garbage collections do not write to, and so copy, the pages they share with the master.
    # (No gc.collect() first: it frees next to nothing here and would add to the cold start.)
    release_collector()
    GunicornApp(factory, options).run()
