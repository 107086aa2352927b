"""The application's own CPU per request of a sign-in, beside the floor app's: `python bench/app_cpu.py`.

compare_bench.py measures whole servers; this leaves the server out. Both apps run in this one process (this
checkout's IdP on the data folder signin_bench.py prepares, and bench/floor_app.py), each behind werkzeug's
single-threaded server in a thread of its own, and the CPU time of the thread that answers is read
(time.thread_time) around each WSGI call only: routing, views, templates, database, tokens, no HTTP parsing,
no server. The client of signin_bench.py signs the bench users in, in alternating batches on the two apps,
and the script prints the median CPU of each of the 7 requests, their sum, and the ratio to the floor.

Not a test: figures to compare, run on a quiet machine (thread CPU time still moves with the machine's load).
"""
import argparse
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import signin_bench as sb  # noqa: E402

STEPS = ("authorize", "GET password", "POST password", "GET kmsi", "POST kmsi", "POST token", "GET userinfo")


def step_of(environ):
    path, method = environ.get("PATH_INFO", ""), environ["REQUEST_METHOD"]
    for name in ("authorize", "password", "kmsi", "token", "userinfo"):
        if path.endswith(name):
            return name if name == "authorize" else f"{method} {name}"
    return None


class Metered:
    """A WSGI app whose answers' CPU time (this thread's) is kept per step while `on`."""

    def __init__(self, app):
        self.app, self.on, self.cpu = app, False, {step: [] for step in STEPS}

    def __call__(self, environ, start_response):
        start = time.thread_time()
        try:
            return list(self.app(environ, start_response))
        finally:
            step = step_of(environ)
            if self.on and step in self.cpu:
                self.cpu[step].append(time.thread_time() - start)


def serve(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", sb.free_port(), app, threaded=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--batch", type=int, default=50, help="sign-ins per app per round")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    tmp = Path(tempfile.mkdtemp(prefix="app-cpu-"))
    users = [f"bench.user{i}@example.fr" for i in range(sb.EXTRA_USERS)]
    data = sb.prepare_data_dir(tmp, users)
    os.environ.update(IDP_DATA_DIR=str(data), IDP_PASSWORD_HASH=sb.FAST_HASH, IDP_SMTP="off")
    import floor_app
    from idp import create_app

    (tmp / "floor").mkdir()
    apps = {"this checkout": create_app(), "floor": floor_app.create_app(str(tmp / "floor"), users)}
    meters, clients = {}, {}
    for name, app in apps.items():
        meters[name] = app.wsgi_app = Metered(app.wsgi_app)
        port = serve(app).server_port
        clients[name] = (sb.Browser(port), sb.RelyingParty(port))
        for user in users:  # every user once: first-request costs are not measured
            sb.sign_in(clients[name][0], clients[name][1], user)
    print(f"app CPU per request (thread time around the WSGI call), {args.rounds} rounds of {args.batch} sign-ins")
    for round_ in range(args.rounds):
        for name in (apps if round_ % 2 == 0 else reversed(list(apps))):
            browser, rp = clients[name]
            meters[name].on = True
            for i in range(args.batch):
                sb.sign_in(browser, rp, users[i % len(users)])
            meters[name].on = False
    names = list(apps)
    print(f"  {'request':16s}" + "".join(f"{n:>15s}" for n in names) + f"{'ratio':>8s}")
    totals = {n: 0.0 for n in names}
    for step in STEPS:
        medians = {n: statistics.median(meters[n].cpu[step]) * 1000 for n in names}
        for n in names:
            totals[n] += medians[n]
        print(f"  {step:16s}" + "".join(f"{medians[n]:12.2f} ms" for n in names)
              + f"{medians[names[0]] / medians[names[1]]:8.2f}")
    print(f"  {'one sign-in':16s}" + "".join(f"{totals[n]:12.2f} ms" for n in names)
          + f"{totals[names[0]] / totals[names[1]]:8.2f}")


if __name__ == "__main__":
    main()
