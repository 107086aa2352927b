"""How long `idp-emulator guide` takes (issue 13: at most 90 s on a 2-core machine), phase by phase.

    python bench/guide_bench.py                      # the Authenticator guide, in French
    python bench/guide_bench.py --method sms --lang en

It runs the generator of the checkout it sits in (a private instance, Chromium, the HTML and the PDF in a
temporary folder) and prints its progress, then the time of each phase and the total. A script that prints
figures, not a test: they depend on the machine and on what else runs on it.
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from idp.trainer.guide import METHODS, LANGUAGES, generate  # noqa: E402

BUDGET = 90.0
PHASES = {"chromium": "Playwright and Chromium launched (the private instance starting meanwhile)",
          "instance": "the private instance up (IdP, Espace Client, SMTP), demo mode on",
          "journey": "the journey driven and photographed",
          "document": "the HTML document written",
          "pdf": "the PDF printed, instance stopped"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", choices=METHODS, default="authenticator")
    parser.add_argument("--lang", choices=LANGUAGES, default="fr")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="guide-bench-") as folder:
        started = time.monotonic()
        result = generate(Path(folder) / "guide.html", method=args.method, lang=args.lang)
        total = time.monotonic() - started
        sizes = result.html.stat().st_size, result.pdf.stat().st_size
    print(f"\nguide --method {args.method} --lang {args.lang}: {len(result.shots)} screenshots, "
          f"HTML {sizes[0] / 1e6:.1f} MB, PDF {sizes[1] / 1e6:.1f} MB")
    for phase, seconds in result.timings.items():
        print(f"  {phase:<9} {seconds:6.1f} s  {PHASES.get(phase, '')}")
    print(f"  {'total':<9} {total:6.1f} s  (budget {BUDGET:.0f} s: {'within' if total <= BUDGET else 'OVER'})")
    return 0 if total <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
