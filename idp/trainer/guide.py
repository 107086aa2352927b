"""The guide generator (`idp-emulator guide`): the firm's client guide, made from the real screens.

It starts a private instance (`idp-emulator up --demo` on its own ports and temporary data folders; demo mode:
the guide's codes, one captcha round, fixed dates), invites one client, and drives headless Chromium
through the whole journey as the client would, from the invitation mail to the Espace Client's dashboard.
On every screen the guide has a step for (idp/trainer/steps.py), it screenshots the PC, and the virtual
phone beside it where the step shows the phone; the step's callout is drawn on the screenshot by the
guide document itself (a frame over the target's box, and the sentence), never put into the real pages.
The result is one self-contained HTML file (images inlined, CSS inline) and its PDF (Chromium's print).
"""
import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import requests

from . import steps as guide_steps

# Debian's Chromium (apt-get install chromium), or the one IDP_CHROMIUM names: Playwright downloads no browser.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--hide-scrollbars", "--font-render-hinting=none"]
METHODS = ("authenticator", "sms")
LANGUAGES = ("fr", "en")
# The PC's and the phone's screen sizes (CSS pixels, scale 1): what the printed page has room for.
PC = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
# Phone screens printed beside their PC screen; more get a sheet of their own after it.
MAX_BESIDE = 2
# The client of the guide: fixed, so that every run shows the same names on the same screens.
CLIENT = {"email": "claire.martin@example.fr", "name": "Claire Martin", "password": "Parcours-Guide-2026!",
          "birth": ("14", "6", "1984"), "phone": "0675064572", "e164": "+33675064572"}
WAIT_MS = 20_000
# The private instance's ports (IdP, Espace Client, SMTP) when free, else any free ones: the activation QR code
# encodes the IdP's URL, so only the same ports give the same QR code from one run to the next.
PORTS = (8470, 8471, 8472)


class GuideError(Exception):
    """The guide cannot be made (no Chromium, no Playwright, the instance would not start): one line for the user."""


@dataclass
class Shot:
    """One step of the guide as photographed: the screen, and each callout's sentence with its target's box."""

    step: object
    image: bytes
    size: tuple  # (width, height) of the image in pixels
    frames: list  # [(sentence, (left, top, width, height) or None)], in the step's callout order


@dataclass
class Result:
    html: Path
    pdf: Path
    shots: list
    timings: dict = field(default_factory=dict)  # phase → seconds


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free(port):
    """True when nothing holds the port on loopback (a previous run's connections in TIME_WAIT do not: the servers
    bind with SO_REUSEADDR, and `up` checks its ports the same way)."""
    from ..cli import _port_taken

    return _port_taken("127.0.0.1", port, "the guide's ports") is None


# --- the private instance ---------------------------------------------------------------------------

class PrivateInstance:
    """`idp-emulator up --demo` on the guide's ports (else free ones) and its own data folders, started and stopped
    by the guide.

    It is `up` itself (the IdP, the Espace Client and the SMTP sink, as a trainer runs them), not a copy of
    how `up` starts them; only its folder, ports and output are the guide's own.
    """

    def __init__(self, folder, ports=PORTS):
        self.folder = Path(folder)
        # The same ports every run when they are free: the QR code of proofup-app-qr carries the IdP's URL.
        self.fixed = all(port_free(port) for port in ports)
        self.idp_port, self.client_port, self.smtp_port = ports if self.fixed else (free_port(), free_port(),
                                                                                      free_port())
        self.idp = f"http://localhost:{self.idp_port}"
        self.client = f"http://localhost:{self.client_port}"
        self.log_path = self.folder / "up.log"
        self.process = None
        self.interrupted = False

    def start(self):
        """Start `up` and return at once (Chromium can start meanwhile); ready() waits for it."""
        from ..cli import child_environment

        env = child_environment()
        for name in ("IDP_DATABASE_URL", "IDP_BASE_URL", "IDP_HOST", "IDP_LISTEN_HOST", "IDP_SECRET_KEY", "IDP_SMTP",
                     "IDP_SMTP_HOST",
                     "CLIENT_AUTHORITY", "CLIENT_BASE_URL", "CLIENT_CA_BUNDLE", "CLIENT_ID", "CLIENT_SECRET",
                     "IDP_URL"):
            env.pop(name, None)  # another instance's settings: the guide's instance is its own
        env.update(IDP_DATA_DIR=str(self.folder / "idp-data"), CLIENT_DATA_DIR=str(self.folder / "client-data"),
                   IDP_SMTP_PORT=str(self.smtp_port), IDP_CAPTCHA="puzzle",
                   # Throwaway accounts: a quick password hash saves seconds, it protects nothing here.
                   IDP_PASSWORD_HASH="pbkdf2:sha256:1000")
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-P", "-m", "idp.cli", "up", "--idp-port", str(self.idp_port),
             "--client-port", str(self.client_port), "--smtp-port", str(self.smtp_port), "--workers", "1",
             "--demo"],
            env=env, cwd=self.folder, stdout=self._log, stderr=subprocess.STDOUT)
        return self

    def ready(self, timeout=90):
        """Wait until `up` says it is up (every server answers), or raise GuideError with its last line."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "Press Ctrl-C to stop." in self.output():
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        last = (self.output().strip().splitlines() or ["no output"])[-1]
        raise GuideError(f"the guide's private idp-emulator did not start: {last}")

    def output(self):
        return self.log_path.read_text(errors="replace")

    def interrupt(self):
        """Ctrl-C, as a trainer stops `up`: both servers stop, the instance is forgotten (stop() waits for it)."""
        if self.process is not None and self.process.poll() is None and not self.interrupted:
            self.process.send_signal(signal.SIGINT)
            self.interrupted = True

    def stop(self):
        if self.process is None:
            return
        self.interrupt()
        if self.process.poll() is None:
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def api(self, method, path, **kwargs):
        response = requests.request(method, f"{self.idp}/_emulator/api{path}", timeout=30, **kwargs)
        if response.status_code >= 400:
            raise GuideError(f"{method} {path}: {response.status_code} {response.text[:200]}")
        return None if response.status_code == 204 else response.json()


# --- the camera ---------------------------------------------------------------------------------------

BOX_SCRIPT = "element => { const b = element.getBoundingClientRect(); return [b.left, b.top, b.width, b.height]; }"


def png_size(data):
    """(width, height) of a PNG, from its IHDR chunk."""
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


STATUS = "**/_emulator/phone/*/status.json"  # what the virtual phone asks for news (idp/static/js/phone.js)
WAITING = "**/proofup/*/status"  # what the QR code's screen asks until the scan is done (idp/static/js/wait.js)


def _refuse(route):
    route.abort()


@contextlib.contextmanager
def held(context, pattern=STATUS):
    """While the block runs, the questions of `context`'s pages that match `pattern` (by default the virtual
    phone's) are refused: each page asks again at its next tick, and so stays where it is meanwhile."""
    context.route(pattern, _refuse)
    try:
        yield
    finally:
        context.unroute(pattern, _refuse)


def photograph(page, step):
    """The screen as the step shows it, still (no caret, no animation: two runs give the same bytes), with the
    box of each callout's target in it: [(sentence, (left, top, width, height) or None)].

    The viewport only, as the client sees it; the first target is scrolled into view if it is below."""
    targets = [page.locator(c.target).first if c.target else None for c in step.callouts]
    shown = [t for t in targets if t is not None and t.count() and t.is_visible()]
    if shown:
        shown[0].scroll_into_view_if_needed()
    page.evaluate("document.fonts.ready.then(() => true)")
    image = page.screenshot(animations="disabled", caret="hide", type="png")
    frames = []
    for callout, target in zip(step.callouts, targets):
        box = None
        if target is not None and target in shown:
            box = tuple(round(v) for v in target.evaluate(BOX_SCRIPT))
            left, top, width, height = box
            view = page.viewport_size
            if top >= view["height"] or top + height <= 0 or left >= view["width"] or left + width <= 0:
                box = None  # out of the photograph: the sentence alone, never a frame beside the image
        frames.append((callout.text, box))
    return image, frames


# --- the journey ------------------------------------------------------------------------------------

class Journey:
    """The client going through the journey in Chromium (the PC, and the phone in a phone-sized context),
    and the guide's camera on every screen the guide has a step for."""

    def __init__(self, instance, browser, method, lang, progress):
        self.instance, self.method, self.lang, self.progress = instance, method, lang, progress
        locale = "fr-FR" if lang == "fr" else "en-GB"
        options = {"locale": locale, "device_scale_factor": 1, "timezone_id": "Europe/Paris",
                   "reduced_motion": "reduce"}
        self.pc = browser.new_context(viewport=PC, **options)
        self.pocket = browser.new_context(viewport=PHONE, has_touch=True, **options)
        for context in (self.pc, self.pocket):
            context.set_default_timeout(WAIT_MS)
        self.wanted = {step.screen: step for _, screens in guide_steps.guide(method) for step in screens}
        self.wanted.update({screen: guide_steps.STEPS[screen] for screen in guide_steps.PHONE_ORDER[method]})
        self.shots = {}

    def close(self):
        self.pc.close()
        self.pocket.close()

    def photograph(self, page, screen):
        """Photograph `screen` (a step of this guide) as `page` shows it now."""
        step = self.wanted.get(screen)
        if step is None or screen in self.shots:
            return
        self.progress(len(self.shots) + 1, len(self.wanted), step)
        image, frames = photograph(page, step)
        self.shots[screen] = Shot(step, image, png_size(image), frames)

    def run(self):
        """From the invitation mail to the dashboard; return {screen: Shot} for every step of the guide."""
        # Back to this instance's Espace Client at the end of part 1 (as `idp-emulator invite` does).
        self.instance.api("POST", "/invitations", json={"email": CLIENT["email"], "name": CLIENT["name"],
                                                        "redirect_url": f"{self.instance.client}/"})
        mailbox = self.open_mail()
        self.photograph(mailbox, "mail-invitation")
        # "Je configure mon nouvel accès" opens the journey in a new tab, as in a webmail.
        with self.pc.expect_page() as tab:
            mailbox.frame_locator('[data-testid="message-html"]').locator('[data-testid="invitation-link"]').click()
        page = tab.value
        mailbox.close()
        self.walk(page, stop_at="client-connect")
        self.photograph(page, "client-connect")
        click(page, '[data-testid="connect"]')
        self.walk(page, stop_at="client-dashboard")
        page.wait_for_load_state("networkidle")
        self.photograph(page, "client-dashboard")
        missing = [screen for screen in self.wanted if screen not in self.shots]
        if missing:
            raise GuideError(f"the journey never showed the screens of these steps: {', '.join(missing)}")
        return self.shots

    def open_mail(self):
        """The mailbox of the client, on its newest mail (a new tab of the PC)."""
        mailbox = self.pc.new_page()
        mailbox.goto(f"{self.instance.idp}/_emulator/mailbox?to={CLIENT['email']}")
        click(mailbox, '[data-testid="message-open"]')
        mailbox.wait_for_function(MAIL_FITTED)  # else the photograph may catch the frame before it fits the mail
        return mailbox

    def walk(self, page, stop_at):
        for _ in range(40):
            page.wait_for_selector("body[data-screen]", state="attached")
            screen = page.locator("body").get_attribute("data-screen")
            if screen == stop_at:
                return
            self.fill(page, screen)
            self.photograph(page, screen)
            self.submit(page, screen)
        raise GuideError(f"the journey never reached {stop_at}")

    def fill(self, page, screen):
        """What the client types on this screen, before the photograph (the guide shows it typed)."""
        if screen == "email":
            page.fill("#i0116", CLIENT["email"])
        elif screen == "signup-password":
            page.fill('[data-testid="new-password"]', CLIENT["password"])
        elif screen == "signup-profile":
            day, month, year = CLIENT["birth"]
            page.select_option('[data-testid="birth-day"]', day)
            page.select_option('[data-testid="birth-month"]', month)
            page.fill('[data-testid="birth-year"]', year)
        elif screen == "signup-verify-email":
            mail = self.open_mail()  # the code's mail ("Retourner sur votre boîte mail…")
            self.photograph(mail, "mail-code")
            mail.close()
            page.fill('[data-testid="otc"]', self.code("email"))
        elif screen == "captcha":
            answer = self.instance.api("GET", "/captcha", params={"email": CLIENT["email"]})["answer"]
            page.check(f'[data-testid="captcha-choice"][value="{answer}"]')
        elif screen == "proofup-method-choice":
            page.select_option('[data-testid="method"]', "phone")
        elif screen == "proofup-sms-phone":
            page.fill('[data-testid="phone-number"]', CLIENT["phone"])
        elif screen == "proofup-sms-code":
            phone = self.phone_page("", key=CLIENT["e164"])  # the number's phone: not the user's yet
            click(phone, '[data-testid="open-messages"]')
            phone.wait_for_selector('[data-testid="sms"]')
            self.photograph(phone, "phone-messages")
            phone.close()
            page.fill('[data-testid="otc"]', self.code("sms", CLIENT["e164"]))

    def submit(self, page, screen):
        """The button the client clicks (or, on the QR and notification screens, what they do on the phone)."""
        buttons = {"tenant-consent": "idBtn_Accept", "app-consent": "idBtn_Accept",
                   "proofup-interrupt": "idSubmit_ProofUp_Redirect", "proofup-method-choice": "confirm",
                   "proofup-app-intro": "next" if self.method == "authenticator" else "other-method",
                   "proofup-success": "done", "client-cgu": "accept-cgu"}
        if screen == "proofup-app-qr":
            self.scan_qr()
            left(page, screen)  # the page notices the scan by itself
        elif screen == "proofup-app-try":
            self.approve(page.locator("#idRichContext_DisplaySign").inner_text().strip())
            left(page, screen)  # the page notices the approval by itself
        elif screen in buttons:
            click(page, f'[data-testid="{buttons[screen]}"]')
        elif screen in ("email", "signup-password", "signup-profile", "signup-verify-email", "captcha-intro",
                        "captcha"):
            click(page, '[data-testid="idSIButton9"]')
        elif screen.startswith("proofup-"):
            click(page, '[data-testid="next"]')
        else:
            raise GuideError(f"the guide does not know the screen {screen!r} ({page.url})")

    def code(self, channel, to=CLIENT["email"]):
        """The code just sent (demo mode: the guide's), as the control API reads it from the mail or the SMS."""
        deadline = time.monotonic() + WAIT_MS / 1000
        while time.monotonic() < deadline:
            messages = self.instance.api("GET", "/messages", params={"to": to, "channel": channel})
            found = next((m["code"] for m in messages["messages"] if m.get("code")), None)
            if found:
                return found
            time.sleep(0.1)
        raise GuideError(f"no {channel} code arrived for {to}")

    def phone_page(self, path, key=CLIENT["email"]):
        phone = self.pocket.new_page()
        phone.goto(f"{self.instance.idp}/_emulator/phone/{quote(key, safe='@')}{path}")
        return phone

    def scan_qr(self):
        """On the phone: Authenticator, "+", "Compte professionnel ou scolaire", "Scanner un code QR"."""
        phone = self.phone_page("")
        # Once the scan is done, the sign-in page moves on and sends the notification, and the phone, asking every
        # IDP_POLL_MS, goes to it by itself. Both wait until the scan's result is photographed: the sign-in page's
        # questions too, else the notification could be sent before the result's page is drawn, with its banner.
        try:
            with held(self.pocket), held(self.pc, WAITING):
                for screen, testid in (("phone-home", "open-authenticator"), ("phone-authenticator", "add-account"),
                                       ("phone-add-account", "work-or-school"), ("phone-account-type", "scan-qr")):
                    self.photograph(phone, screen)
                    click(phone, f'[data-testid="{testid}"]')
                phone.wait_for_selector('[data-testid="scan-result"]')
                self.photograph(phone, "phone-scan")
        finally:
            phone.close()

    def approve(self, number):
        """On the phone: the notification, the number shown on the PC, "Approuver"."""
        phone = self.phone_page("/notification")
        try:
            phone.fill('[data-testid="notification-number"]', number)
            self.photograph(phone, "phone-notification")
            click(phone, '[data-testid="approve"]')
        finally:
            phone.close()


# The webmail sizes the mail's frame to the mail once the mail has loaded (mailbox.js).
MAIL_FITTED = """() => {
    const frame = document.querySelector('[data-testid="message-html"]');
    const mail = frame && frame.contentDocument;
    return !!mail && mail.readyState === "complete" && frame.style.height === mail.documentElement.scrollHeight + "px";
}"""


def click(page, selector):
    with page.expect_navigation():
        page.locator(selector).first.click()


def left(page, screen):
    """Wait until the page has moved on from `screen` by itself (its polling script)."""
    page.wait_for_function("screen => document.body.dataset.screen !== screen", arg=screen, timeout=WAIT_MS)


# --- the document -------------------------------------------------------------------------------------

def data_uri(data, mimetype):
    return f"data:{mimetype};base64,{base64.b64encode(data).decode()}"


# How wide a screenshot is printed (mm): the PC's alone, the PC's with a phone beside it, a phone's.
PRINTED_MM = {"pc": 232, "pc-beside": 190, "phone": 58, "phones": 44}
# A callout's sentence as printed (9 pt, bold): about this many mm per character, per line, at most this wide.
CHAR_MM, LINE_MM, LABEL_MM = 1.9, 4.2, 60


def figure(shot, printed):
    """A screenshot and its callouts for the template, in percent of the image (they scale with it): each frame
    around its target, and its sentence under the frame, else beside it (from its top, or up to its bottom), else
    above it: the first place where it covers no other callout and stays on the image."""
    width, height = shot.size
    px = width / PRINTED_MM[printed]  # image pixels per printed mm
    label_mm = min(LABEL_MM, PRINTED_MM[printed] - 4)
    several = len(shot.frames) > 1
    pad = 4  # the frame surrounds the element, it does not cover its edge
    frames = [(b[0] - pad, b[1] - pad, b[2] + 2 * pad, b[3] + 2 * pad) if b else None for _, b in shot.frames]
    taken = [f for f in frames if f]
    callouts = []
    for index, ((text, _), frame) in enumerate(zip(shot.frames, frames), start=1):
        text = gettext(text)
        callout = {"text": text, "number": index if several else None, "frame": None, "label": None}
        if frame is not None:
            left, top, w, h = frame
            chars = len(text) + (3 if several else 0)
            label_w = min(label_mm, chars * CHAR_MM + 4) * px
            per_line = max(1, (label_w / px - 4) / CHAR_MM)
            label_h = (-(-chars // per_line) * LINE_MM + 2.5) * px
            gap = 1.5 * px
            x = min(max(0, left), width - label_w)
            options = {"below": (x, top + h + gap), "side": (left + w + gap, top),
                       "side-up": (left + w + gap, top + h - label_h), "above": (x, top - gap - label_h)}
            place = next((name for name, (lx, ly) in options.items()
                          if ly >= 0 and ly + label_h <= height and lx + label_w <= width
                          and not any(overlap((lx, ly, label_w, label_h), other) for other in taken)), "below")
            lx, ly = options[place]
            taken.append((lx, ly, label_w, label_h))
            callout["frame"] = {"left": 100 * left / width, "top": 100 * top / height, "width": 100 * w / width,
                                "height": 100 * h / height}
            # "above" hangs from the frame's top edge (the sentence's height is only estimated here).
            callout["label"] = {"left": 100 * lx / width, "max_width": 100 * label_w / width, "place": place,
                                "top": 100 * ly / height, "bottom": 100 * (height - top + gap) / height}
        callouts.append(callout)
    return {"screen": shot.step.screen, "title": gettext(shot.step.title), "image": data_uri(shot.image, "image/png"),
            "width": width, "height": height, "callouts": callouts, "device": shot.step.device}


def overlap(a, b):
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def gettext(text):
    from flask_babel import gettext as translate

    return translate(text)


def document_app(instance):
    """The IdP's own app on the private instance's data: its templates, catalogues and tenant."""
    from .. import create_app

    return create_app({"IDP_DATA_DIR": str(instance.folder / "idp-data")})


def render(app, shots, method, lang):
    """The guide as one HTML document (images inlined), in the guide's language, with the tenant's branding."""
    from flask import render_template
    from sqlalchemy import select

    from ..extensions import db
    from ..models import Tenant

    with app.test_request_context(f"/?ui_locales={lang}"):
        tenant = db.session.scalar(select(Tenant).order_by(Tenant.domain))
        extra = tenant.extra or {}
        logo = data_uri(tenant.logo_svg.encode(), "image/svg+xml") if tenant.logo_svg else None
        parts = []
        for part, screens in guide_steps.guide(method):
            steps = []
            for number, step in enumerate(screens, start=1):
                phones = [s for s in guide_steps.PHONE_ORDER[method] if guide_steps.STEPS[s].beside == step.screen]
                many = len(phones) > MAX_BESIDE  # then the phone's screens get a sheet of their own
                beside = [figure(shots[s], "phones" if many else "phone") for s in phones]
                pc = figure(shots[step.screen], "pc-beside" if phones and not many else "pc")
                steps.append({"number": number, **pc, "phone": beside})
            parts.append({"number": part.number, "title": gettext(part.title), "banner": gettext(part.banner),
                          "steps": steps})
        return render_template("guide/document.html", tenant_name=tenant.name, brand=extra.get("brand") or tenant.name,
                               support_phone=extra.get("support_phone"), support_email=extra.get("support_email"),
                               website=extra.get("website"), logo=logo, parts=parts, method=method, lang=lang,
                               max_beside=MAX_BESIDE)


# --- the command --------------------------------------------------------------------------------------

def output_paths(out, method, lang):
    """(HTML, PDF) paths: --out names the HTML file (the PDF beside it) or a folder to write both in."""
    name = f"parcours-connexion-espace-client-{method}-{lang}"
    if out is None:
        out = Path.cwd() / f"{name}.html"
    out = Path(out)
    if out.is_dir() or not out.suffix:
        out = out / f"{name}.html"
    return out, out.with_suffix(".pdf")


def chromium():
    """The Chromium to drive, or GuideError saying how to get one."""
    path = os.environ.get("IDP_CHROMIUM") or CHROMIUM
    if not Path(path).is_file():
        raise GuideError(f"the guide needs Chromium at {path} (apt-get install chromium, or set IDP_CHROMIUM)")
    return path


def generate(out=None, method="authenticator", lang="fr", progress=print):
    """Make the guide; return its paths, its shots and how long each phase took (seconds)."""
    if method not in METHODS or lang not in LANGUAGES:
        raise GuideError(f"method must be one of {', '.join(METHODS)} and lang one of {', '.join(LANGUAGES)}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise GuideError("the guide needs Playwright: pip install 'idp-emulator[guide]'") from None
    executable = chromium()
    html_path, pdf_path = output_paths(out, method, lang)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    timings = {}
    started = time.monotonic()

    def phase(name):
        nonlocal started
        now = time.monotonic()
        timings[name] = now - started
        started = now

    with tempfile.TemporaryDirectory(prefix="idp-guide-") as folder, sync_playwright() as playwright:
        instance = PrivateInstance(folder)
        try:
            instance.start()  # the servers start while Chromium does
            browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
            phase("chromium")
            instance.ready()
            if not instance.fixed:
                progress(f"(ports {', '.join(map(str, PORTS))} are taken: the QR code will differ from other runs)")
            instance.api("PUT", "/settings", json={"demo": True, "language": lang})
            app = document_app(instance)
            phase("instance")

            def say(index, total, step):
                with app.test_request_context(f"/?ui_locales={lang}"):
                    place = guide_steps.place(step.screen, method)
                    from flask_babel import gettext as _

                    part = _("Partie %(number)s", number=place.part) if place.part else gettext(place.part_title)
                    progress(f"[{index:>{len(str(total))}}/{total}] {part} — {gettext(step.title)}")

            journey = Journey(instance, browser, method, lang, say)
            try:
                shots = journey.run()
            finally:
                journey.close()
            phase("journey")
            html_path.write_text(render(app, shots, method, lang), encoding="utf-8")
            with app.app_context():
                from ..extensions import db

                db.engine.dispose()
            phase("document")
            instance.interrupt()  # it stops while Chromium prints
            printer = browser.new_page()
            printer.goto(html_path.resolve().as_uri())
            printer.pdf(path=str(pdf_path), prefer_css_page_size=True, print_background=True)
            browser.close()
        finally:
            instance.stop()
        phase("pdf")
    return Result(html_path, pdf_path, shots, timings)


# --- the gallery's thumbnails -------------------------------------------------------------------------

# Where the package ships one small image per screen for the gallery (/_emulator/screens), and how wide it is.
THUMBNAILS = Path(__file__).resolve().parent.parent / "static" / "img" / "screens"
THUMBNAIL_WIDTH = 320


def thumbnail(image, width=THUMBNAIL_WIDTH):
    """A screenshot (PNG bytes) made `width` pixels wide, as a small WebP (the same screenshot, the same bytes)."""
    from io import BytesIO

    from PIL import Image

    with Image.open(BytesIO(image)) as shot:
        shot = shot.convert("RGB")
        small = shot.resize((width, round(shot.height * width / shot.width)), Image.Resampling.LANCZOS)
    out = BytesIO()
    small.save(out, "WEBP", quality=80, method=6)
    return out.getvalue()


def thumbnails(folder=THUMBNAILS, lang="fr", progress=print):
    """Photograph the journey of both methods, in demo mode as the guide does, and write `<screen>.webp` in
    `folder` for every screen photographed; return {screen: path}. Run it again when a screen changes."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise GuideError("the thumbnails need Playwright: pip install 'idp-emulator[guide]'") from None
    executable = chromium()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            for method in METHODS:
                # A fresh instance per method: the guide's client is invited anew and registers this method.
                with tempfile.TemporaryDirectory(prefix="idp-thumbnails-") as data:
                    instance = PrivateInstance(data)
                    try:
                        instance.start()
                        instance.ready()
                        instance.api("PUT", "/settings", json={"demo": True, "language": lang})

                        def say(index, total, step, method=method):
                            progress(f"[{method} {index:>{len(str(total))}}/{total}] {step.screen}")

                        journey = Journey(instance, browser, method, lang, say)
                        try:
                            shots = journey.run()
                        finally:
                            journey.close()
                    finally:
                        instance.stop()
                for screen, shot in shots.items():
                    if screen not in written:  # the screens both methods show are the same: the first one's
                        path = folder / f"{screen}.webp"
                        path.write_bytes(thumbnail(shot.image))
                        written[screen] = path
        finally:
            browser.close()
    return written
