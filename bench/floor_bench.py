"""idp-emulator beside the floor of its stack (issue 2): run `python bench/floor_bench.py`.

Starts the real server (`idp-emulator serve`) and `bench/floor_app.py` (the same 7 requests on the same
stack with none of the emulator's logic, served by gunicorn with the same options), and measures both
with the client of signin_bench.py, taking turns, so that the VM's drifting speed hits both alike:
cold start on a warm data dir, sign-ins one at a time (batches of 25, alternating), sign-ins with 8
concurrent clients, and memory after the load. The floor's figure is what any implementation on this
stack costs here at best; a target below it cannot be met by work on the emulator's own code.
See bench/README.md.
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import signin_bench as sb
from signin_bench import TARGETS

HERE = Path(__file__).resolve().parent
# What any implementation of issue 2 loads before it can answer: the brief's core dependencies that serve a
# request (Flask, Flask-SQLAlchemy, Flask-WTF, authlib's Flask authorization server, joserfc) and gunicorn.
STACK = ("flask", "flask_sqlalchemy", "flask_wtf", "authlib.integrations.flask_oauth2", "joserfc.jwt",
         "gunicorn.app.base", "gunicorn.workers.gthread")
IMPORT_ONLY = "import " + ", ".join(STACK) + "; print(open('/proc/self/status').read())"


class FloorServer(sb.Server):
    def __init__(self, data_dir, users, workers=2, threads=4):
        super().__init__(data_dir, workers, threads)
        self.users = users

    def command(self):
        return [sys.executable, str(HERE / "floor_app.py"), "--port", str(self.port), "--data", str(self.data_dir),
                "--workers", str(self.workers), "--threads", str(self.threads), "--users", ",".join(self.users)]


def import_only():
    """Seconds from process start to exit of a Python that only imports STACK, and its peak RSS in MB."""
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", IMPORT_ONLY], capture_output=True, text=True, check=True).stdout
    seconds = time.perf_counter() - t
    hwm = next(line for line in out.splitlines() if line.startswith("VmHWM:"))
    return seconds, int(hwm.split()[1]) / 1024


def serial_batches(sides, users, rounds, batch=25):
    """Alternate batches of one-at-a-time sign-ins; per side: wall ms and server CPU ms per sign-in, step medians."""
    out = {name: {"wall": [], "cpu": [], "steps": {}} for name in sides}
    for _ in range(rounds):
        for name, (server, rp, browser) in sides.items():
            cpu, t = server.cpu_seconds(), time.perf_counter()
            for i in range(batch):
                sb.sign_in(browser, rp, users[i % len(users)], out[name]["steps"])
            out[name]["wall"].append(1000 * (time.perf_counter() - t) / batch)
            out[name]["cpu"].append(1000 * (server.cpu_seconds() - cpu) / batch)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, shorter phases")
    args = parser.parse_args()
    rounds, seconds, starts = (2, 1.5, 1) if args.quick else (6, 4.0, 5)
    users = [f"bench.user{i}@example.fr" for i in range(1, sb.EXTRA_USERS + 1)]
    print(f"idp-emulator beside the floor of its stack - Python {sys.version.split()[0]}")
    print(f"  machine speed: a 1M-step Python loop takes {sb.machine_speed():.0f} ms (lower is faster)")
    with tempfile.TemporaryDirectory(prefix="idp-floor-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "product").mkdir()
        (tmp / "floor").mkdir()
        data = {"idp-emulator": sb.prepare_data_dir(tmp / "product", users), "floor": tmp / "floor" / "data"}

        def make(name):
            if name == "floor":
                return FloorServer(data[name], users)
            return sb.Server(data[name])

        cold = {name: [] for name in data}
        imports = []
        for _ in range(starts + 1):  # the floor's first start creates its data dir: not counted
            imports.append(import_only())
            for name in data:
                server = make(name)
                try:
                    cold[name].append(server.start())
                finally:
                    server.stop()
        cold["floor"].pop(0)
        cold["idp-emulator"].pop(0)

        servers = {name: make(name) for name in data}
        try:
            sides = {}
            for name, server in servers.items():
                server.start()
                rp, browser = sb.RelyingParty(server.port), sb.Browser(server.port)
                for email in users * 2:  # warm-up: each worker and each user
                    sb.sign_in(browser, rp, email)
                sides[name] = (server, rp, browser)
            serial = serial_batches(sides, users, rounds)
            concurrent = {name: [] for name in sides}
            for _ in range(2):
                for name, (server, rp, _) in sides.items():
                    concurrent[name].append(sb.server_cpu(server, lambda: sb.bench_signins(
                        server.port, rp, users, sb.CONCURRENCY, seconds, 10**6)))
            memory = {name: server.memory() for name, server in servers.items()}
        finally:
            for server in servers.values():
                server.stop()

    names = list(data)
    stack_seconds = statistics.median(x[0] for x in imports[1:])
    stack_mb = statistics.median(x[1] for x in imports[1:])
    figures = [
        ("cold start, warm data dir (median)", "s", f"<= {TARGETS['cold_start_s']}",
         {n: statistics.median(cold[n]) for n in names}),
        ("sign-in one at a time, best batch", "ms", f"<= {TARGETS['signin_serial_ms']}",
         {n: min(serial[n]["wall"]) for n in names}),
        ("  median batch", "ms", "", {n: statistics.median(serial[n]["wall"]) for n in names}),
        ("  server CPU per sign-in, best batch", "ms", "", {n: min(serial[n]["cpu"]) for n in names}),
        (f"sign-ins, {sb.CONCURRENCY} concurrent, best phase", "/s", f">= {TARGETS['signin_concurrent_per_s']}",
         {n: max(r["per_s"] for r in concurrent[n]) for n in names}),
        ("  server CPU per sign-in", "ms", "", {n: min(r["server_ms"] for r in concurrent[n]) for n in names}),
        ("peak RSS (sum of VmHWM, master+2 workers)", "MB", f"<= {TARGETS['peak_rss_mb']}",
         {n: memory[n][0] for n in names}),
        ("  memory in use (PSS)", "MB", "", {n: memory[n][2] for n in names}),
        ("  largest process (its VmHWM)", "MB", "", {n: memory[n][4] for n in names}),
    ]
    print(f"  {'figure':<44} {'unit':<4} {'target':>8} {'idp-emulator':>13} {'floor':>8} {'floor/emulator':>15}")
    for label, unit, target, values in figures:
        product, floor = values["idp-emulator"], values["floor"]
        print(f"  {label:<44} {unit:<4} {target:>8} {product:>13.2f} {floor:>8.2f} {floor / product:>15.2f}")
    print(f"  a Python that only imports the stack ({', '.join(STACK)}), median of {len(imports) - 1}: "
          f"{stack_seconds:.2f} s from start to exit, peak RSS {stack_mb:.0f} MB "
          f"(x3 processes, master and 2 workers: {3 * stack_mb:.0f} MB)")
    for name in names:
        print(f"  per step, {name} (median ms): " + ", ".join(
            f"{step} {1000 * statistics.median(v):.2f}" for step, v in serial[name]["steps"].items()))
    print(f"  machine speed after: {sb.machine_speed():.0f} ms")


if __name__ == "__main__":
    main()
