"""Serve a Flask app factory with gunicorn (production) or Flask's server (--debug only)."""
import gc

from gunicorn.app.base import BaseApplication

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
        "worker_class": "gthread" if threads > 1 else "sync",
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
