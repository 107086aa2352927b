"""`idp-emulator guide`: the client guide made from the real screens (issue 13). The command runs twice for the whole
module (it takes tens of seconds): its HTML and PDF are checked, then a second run of the same method is compared
image by image with the first (demo mode and still screenshots: byte-identical)."""
import base64
import os
import re
import subprocess
import sys
import threading
import time
import unicodedata
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader

from idp.trainer import steps

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
METHOD = steps.AUTHENTICATOR
# Callouts whose target the photographed screen does not show, so their sentence is drawn without a frame:
# phone-scan's "Scanner" button is only there again after a failed scan (the guide shows the success).
UNFRAMED = {("phone-scan", '[data-testid="scan-qr"]')}


def run_guide(out):
    """The command as a trainer types it; returns its output (one progress line per step)."""
    result = subprocess.run([sys.executable, "-m", "idp.cli", "guide", "--method", METHOD, "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "are taken" not in result.stdout  # its fixed ports, so the QR code carries the same URL every run
    return result.stdout


@pytest.fixture(scope="module")
def guide(tmp_path_factory):
    folder = tmp_path_factory.mktemp("guide")
    output = run_guide(folder / "guide.html")
    html = (folder / "guide.html").read_text(encoding="utf-8")
    return {"output": output, "html": html, "soup": BeautifulSoup(html, "html.parser"), "pdf": folder / "guide.pdf"}


def images(soup):
    """{step screen: PNG bytes} of the document's screenshots."""
    found = {}
    for figure in soup.select("figure[data-step]"):
        src = figure.img["src"]
        assert src.startswith("data:image/png;base64,"), src[:40]
        found[figure["data-step"]] = base64.b64decode(src.split(",", 1)[1])
    return found


def flat(text):
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


def expected_steps():
    """Every step of the guide on this branch: the PC's, each followed by the phone's it has beside it."""
    order = []
    for _, screens in steps.guide(METHOD):
        for step in screens:
            order.append(step.screen)
            order += [s for s in steps.PHONE_ORDER[METHOD] if steps.STEPS[s].beside == step.screen]
    return order


def test_it_writes_one_self_contained_html_and_a_pdf_with_a_progress_line_per_step(guide):
    total = len(expected_steps())
    lines = [line for line in guide["output"].splitlines() if line.startswith("[")]
    assert len(lines) == total
    assert lines[0] == f"[ 1/{total}] Partie 1 — Réception du mail venant « Espace client Baker Tilly »"
    assert lines[-1].startswith(f"[{total}/{total}] Partie 2 — ")
    assert guide["pdf"].read_bytes().startswith(b"%PDF-")
    soup = guide["soup"]
    # Nothing from elsewhere: every image is inlined, no stylesheet, script or frame is fetched.
    assert not soup.find_all(["script", "link", "iframe"])
    for element in soup.find_all(src=True):
        assert element["src"].startswith("data:"), element["src"][:60]
    assert "url(" not in "".join(style.get_text() for style in soup.find_all("style"))


def test_every_step_has_its_screenshot_with_its_callouts_drawn_on_it(guide):
    soup = guide["soup"]
    figures = soup.select("figure[data-step]")
    assert [f["data-step"] for f in figures] == expected_steps()
    for figure in figures:
        assert len(figure.find_all("img")) == 1
        step = steps.STEPS[figure["data-step"]]
        drawn = figure.select("[data-callout]")
        assert [flat(d.get_text()).lstrip("0123456789. ") for d in drawn] == [flat(c.text) for c in step.callouts]
        for callout, element in zip(step.callouts, drawn):
            # A callout with a target is a frame around it, placed on the image.
            framed = element.select_one(".frame") is not None
            assert framed == (callout.target is not None) or (step.screen, callout.target) in UNFRAMED, \
                (step.screen, callout.target)
    # The phone's screens are phone-sized, the PC's are the PC's.
    assert soup.select_one('figure[data-step="phone-scan"] img')["width"] == "360"
    assert soup.select_one('figure[data-step="email"] img')["width"] == "1280"


def test_the_cover_has_the_firms_branding_and_the_support_section_its_contacts(guide):
    soup = guide["soup"]
    cover = soup.select_one("section.cover")
    assert "Baker Tilly" in cover.get_text()
    assert cover.img["src"].startswith("data:image/svg+xml;base64,")
    logo = base64.b64decode(cover.img["src"].split(",", 1)[1]).decode()
    assert logo == (ROOT / "seeds" / "default" / "branding" / "logo.svg").read_text(encoding="utf-8")
    assert "02.41.66.17.49" in soup.select_one('[data-testid="support-phone"]').get_text()
    assert "support.digital@bakertilly.fr" in soup.select_one('[data-testid="support-email"]').get_text()


def test_the_pdf_has_every_step_title_in_order_and_one_image_per_step(guide):
    reader = PdfReader(guide["pdf"])
    text = flat(" ".join(page.extract_text() for page in reader.pages))
    position = 0
    for part, screens in steps.guide(METHOD):
        found = text.find(flat(part.title), position)
        assert found >= 0, part.title
        position = found
        for step in screens:
            found = text.find(flat(step.title), position)
            assert found >= 0, (step.screen, step.title, text[position:position + 300])
            position = found + 1
    pictures = [image for page in reader.pages for image in page.images]
    # One screenshot per step, plus the logo on the cover and on the pages' band.
    screenshots = [image for image in pictures if image.image.size in ((1280, 800), (360, 740))]
    assert len(screenshots) == len(expected_steps())


def test_a_second_run_gives_byte_identical_screenshots(guide, tmp_path):
    run_guide(tmp_path / "again.html")
    first = images(guide["soup"])
    second = images(BeautifulSoup((tmp_path / "again.html").read_text(encoding="utf-8"), "html.parser"))
    assert list(second) == list(first)
    different = [screen for screen in first if first[screen] != second[screen]]
    assert different == []


def test_without_chromium_it_stops_with_one_line_saying_what_to_install(tmp_path):
    env = {**os.environ, "IDP_CHROMIUM": str(tmp_path / "no-chromium")}
    result = subprocess.run([sys.executable, "-m", "idp.cli", "guide", "--out", str(tmp_path / "guide.html")],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"idp-emulator: guide: the guide needs Chromium at {tmp_path / 'no-chromium'} "
        "(apt-get install chromium, or set IDP_CHROMIUM)"]
    assert list(tmp_path.iterdir()) == []  # nothing written, no instance started


class Photographed(Exception):
    """Raised once the scan's result is photographed: the rest of the guide is not needed here."""


def test_the_scan_result_is_photographed_before_the_sign_in_page_sends_the_notification(tmp_path, monkeypatch):
    """On a loaded machine the phone's page of the scan's result can come late. The QR code's screen, which asks every
    IDP_POLL_MS whether the scan is done, must not move on (and send the notification) before that page is
    photographed: it would be drawn with the notification's banner, and two runs would differ."""
    from idp.trainer import guide

    seen = {}
    photograph, scan_qr = guide.photograph, guide.Journey.scan_qr

    def late_result(route):
        """The scan is done (the account added) at once; its answer reaches the phone a second later."""
        if route.request.method != "POST":
            return route.continue_()
        seen["late"] = True
        response = route.fetch(max_redirects=0)
        time.sleep(1.0)  # five of the sign-in page's questions meanwhile (IDP_POLL_MS=200)
        route.fulfill(response=response)

    def scan_qr_slowly(journey):
        journey.pocket.route(lambda url: url.endswith("/authenticator/scan"), late_result)
        return scan_qr(journey)

    def watched(page, step):
        if step.screen == "phone-scan":
            seen["banner"] = page.locator('[data-testid="notification-banner"]').count()
            raise Photographed
        return photograph(page, step)

    monkeypatch.setattr(guide.Journey, "scan_qr", scan_qr_slowly)
    monkeypatch.setattr(guide, "photograph", watched)
    monkeypatch.setenv("IDP_POLL_MS", "200")
    outcome = []
    # In a thread: the session's Chromium fixture may hold this worker's main thread (tests/conftest.py chromium).
    worker = threading.Thread(target=lambda: outcome.append(_generate(guide, tmp_path)))
    worker.start()
    worker.join(240)
    assert outcome == ["photographed"] and seen == {"late": True, "banner": 0}, (outcome, seen)


def _generate(guide, folder):
    try:
        guide.generate(out=folder / "guide.html", progress=lambda line: None)
    except Photographed:
        return "photographed"
    except Exception as error:  # noqa: BLE001 - reported by the assertion
        return repr(error)
    return "finished without photographing phone-scan"
