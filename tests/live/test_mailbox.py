"""The dev mailbox pages and its loopback SMTP server."""
import re
import smtplib
import socket
import time
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from idp import clock
from idp.devices import smtp
from idp.devices.messages import send_email
from idp.extensions import db
from idp.models import Message, Setting

from ..conftest import free_port


def deliver(app, to, subject, text="Bonjour", html=None, sender="Test <test@example.fr>", minutes_ago=0):
    with app.app_context():
        message = send_email(to, subject, text, html=html, sender=sender)
        message.created_at = clock.now() - timedelta(minutes=minutes_ago)
        message.deliver_at = message.created_at
        db.session.commit()
        return message.id


def emails_newest_first(app):
    """Every email in the database (the seeds' invitation mail included), newest first, as (to, id)."""
    with app.app_context():
        rows = db.session.query(Message).filter_by(channel="email").order_by(Message.created_at.desc(), Message.id.desc())
        return [(m.to, str(m.id)) for m in rows]


def test_mailbox_lists_all_mail_newest_first_and_filters_by_recipient(app, browser):
    deliver(app, "a@example.fr", "Ancien", minutes_ago=5)
    deliver(app, "B@Example.fr", "Récent", minutes_ago=1)
    page = browser.get("/_emulator/mailbox/")
    assert page.status == 200 and page.screen == "mailbox"
    items = page.testids("message")
    assert [(i["data-to"], i["data-id"]) for i in items] == emails_newest_first(app)
    mine = [i for i in items if i["data-to"] in ("a@example.fr", "b@example.fr")]
    assert [i["data-to"] for i in mine] == ["b@example.fr", "a@example.fr"]
    assert "Récent" in mine[0].get_text() and "Ancien" in mine[1].get_text()
    page = browser.get("/_emulator/mailbox/?to=A@example.fr")
    assert [i["data-to"] for i in page.testids("message")] == ["a@example.fr"]
    assert browser.get("/_emulator/mailbox?to=nobody@example.fr").testid("empty") is not None


def test_message_page_shows_sender_subject_sandboxed_html_links_and_text(app, browser):
    html = ('<p>Bonjour <script>alert(1)</script></p><a href="https://example.fr/invite?x=1&amp;y=2">Go</a>'
            '<a href="javascript:alert(2)">Bad</a>')
    message_id = deliver(app, "c@example.fr", "Votre invitation", text="Texte brut\nligne 2", html=html,
                         sender="Espace client <espace@example.fr>")
    listing = browser.get("/_emulator/mailbox/?to=c@example.fr")
    page = browser.get(listing.testid("message").find("a")["href"])
    assert page.screen == "mailbox-message"
    assert page.testid("message-from").get_text(" ", strip=True) == "Espace client <espace@example.fr>"
    assert page.testid("message-subject").get_text(strip=True) == "Votre invitation"
    assert page.testid("message-text").get_text() == "Texte brut\nligne 2"
    frame = page.testid("message-html")
    assert frame.name == "iframe" and frame.has_attr("sandbox") and "allow-scripts" not in frame["sandbox"]
    assert "<script>" not in page.response.get_data(as_text=True)
    assert "default-src 'none'" in page.response.headers["Content-Security-Policy"]
    links = page.testids("message-link")
    assert links[0].name == "a" and links[0]["href"] == "https://example.fr/invite?x=1&amp;y=2"
    assert links[1].name == "span"  # a javascript: link is shown, never made clickable
    assert "allow-same-origin" in frame["sandbox"]  # same origin without scripts: the page may size the frame
    raw = browser.client.get(frame["src"])
    assert raw.status_code == 200 and raw.mimetype == "text/html"
    assert raw.get_data(as_text=True) == '<base target="_blank">' + html  # the mail's links open in a new tab
    assert "sandbox" in raw.headers["Content-Security-Policy"] and "script-src" not in raw.headers["Content-Security-Policy"]
    with app.app_context():
        assert db.session.get(Message, message_id).read_at is not None


def test_mailbox_reads_like_a_webmail_list_and_reading_pane_in_french(app, browser):
    old = deliver(app, "d@example.fr", "Ancienne facture", text="Bonjour,\n\nVotre   facture est jointe.",
                  sender="Espace client Baker Tilly <espace-client@bakertilly.fr>")
    with app.app_context():
        db.session.get(Message, old).created_at = datetime(2025, 3, 14, 9, 5)
        db.session.commit()
    new = deliver(app, "d@example.fr", "Votre code", text="Code : 1234 " + "mot " * 60, sender="robot@example.fr")
    page = browser.get("/_emulator/mailbox?to=d@example.fr")
    items = page.testids("message")
    assert [i["data-id"] for i in items] == [str(new), str(old)]
    newest, oldest = items
    assert newest.find(attrs={"data-testid": "message-item-from"}).get_text(strip=True) == "robot@example.fr"
    assert re.fullmatch(r"\d{2}:\d{2}", newest.find(attrs={"data-testid": "message-item-date"}).get_text(strip=True))
    snippet = newest.find(class_="m-snippet").get_text(strip=True)
    assert snippet.startswith("Code : 1234 mot mot") and snippet.endswith("…") and len(snippet) <= 141
    assert oldest.find(attrs={"data-testid": "message-item-from"}).get_text(strip=True) == "Espace client Baker Tilly"
    assert oldest.find(attrs={"data-testid": "message-item-date"}).get_text(strip=True) == "14/03/2025"
    assert oldest.find(class_="m-snippet").get_text(strip=True) == "Bonjour, Votre facture est jointe."
    assert "unread" in oldest["class"] and page.testid("message-view") is None
    assert page.testid("unread-count").get_text(strip=True) == "· 2 non lus"

    # The reading pane beside the list: the selected mail, its sender, recipient and French date; the list keeps its filter.
    page = browser.get(oldest.find("a")["href"])
    assert page.screen == "mailbox-message"
    assert [i["data-id"] for i in page.testids("message")] == [str(new), str(old)]
    selected = page.testids("message")[1]
    assert "selected" in selected["class"] and selected.find("a")["aria-current"] == "true"
    assert "unread" not in selected["class"]
    assert page.testid("unread-count").get_text(strip=True) == "· 1 non lu"
    sender = page.testid("message-from")
    assert sender.find("strong").get_text() == "Espace client Baker Tilly"
    assert sender.get_text(" ", strip=True) == "Espace client Baker Tilly <espace-client@bakertilly.fr>"
    assert page.testid("message-to").get_text() == "d@example.fr"
    assert page.testid("message-date").get_text() == "vendredi 14 mars 2025 à 09:05 UTC"
    assert page.testid("back-to-list")["href"] == "/_emulator/mailbox?to=d@example.fr"
    assert page.testid("message-html") is None  # a text-only mail is shown as text
    assert page.testid("message-text").get_text() == "Bonjour,\n\nVotre   facture est jointe."


def test_list_snippet_of_an_html_only_mail_is_its_visible_text(app, browser):
    deliver(app, "e@example.fr", "HTML seul", text="", html=(
        "<!DOCTYPE html><html><head><title>Titre</title><style>p { color: red }</style></head>"
        "<body><script>ignore()</script><p>Bonjour <b>Camille</b>,</p><p>votre&nbsp;dossier est prêt.</p></body></html>"))
    item = browser.get("/_emulator/mailbox?to=e@example.fr").testid("message")
    assert item.find(class_="m-snippet").get_text(strip=True) == "Bonjour Camille, votre dossier est prêt."


def test_invitation_mail_has_the_guide_links_as_real_links(app, client):
    from ..functional.test_invitations import app_token, invite

    invite(client, app_token(client))
    with app.app_context():
        message = db.session.query(Message).filter_by(to="invite.test@example.fr", channel="email").one()
        body = BeautifulSoup(message.body_html, "html.parser")
        text = message.body_text
    links = {a.get_text(strip=True): a["href"] for a in body.find_all("a")}
    assert links["ce guide"] == "https://www.bakertilly.fr/espace-client/guide-utilisateur"
    assert links["F.A.Q"] == "https://www.bakertilly.fr/espace-client/faq"
    assert links["02.41.66.17.49"] == "tel:0241661749"
    assert links["support.digital@bakertilly.fr"] == "mailto:support.digital@bakertilly.fr"
    assert links["www.bakertilly.fr"] == "https://www.bakertilly.fr"
    assert links["Je configure mon nouvel accès"].startswith("http://localhost/redeem?")
    assert "ce guide (https://www.bakertilly.fr/espace-client/guide-utilisateur)" in text
    assert "F.A.Q (https://www.bakertilly.fr/espace-client/faq)" in text


def test_unknown_message_is_a_404_page(browser):
    response = browser.client.get("/_emulator/mailbox/999999")
    assert response.status_code == 404


def test_sms_are_not_in_the_mailbox(app, browser):
    with app.app_context():
        db.session.add(Message(channel="sms", to="+33612345678", body_text="code 123456"))
        db.session.commit()
    items = browser.get("/_emulator/mailbox/").testids("message")
    assert [i["data-id"] for i in items] == [id for _, id in emails_newest_first(app)]
    assert "+33612345678" not in [i["data-to"] for i in items]


# --- SMTP -------------------------------------------------------------------------------------

@pytest.fixture
def smtp_server(app):
    port = free_port()
    controller = smtp.start(app, port=port)
    assert controller is not None
    yield port
    controller.stop()


def wait_for_mail(app, to, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            found = db.session.query(Message).filter_by(to=to).all()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no mail for {to}")


def test_mail_sent_over_smtp_lands_in_the_mailbox(app, browser, smtp_server):
    mail = EmailMessage()
    mail["From"] = "Autre programme <robot@example.fr>"
    mail["To"] = "Destinataire@Example.fr"
    mail["Subject"] = "Réinitialisation — votre code"
    mail.set_content("Votre code de sécurité : 482913\nhttps://example.fr/texte")
    mail.add_alternative('<p>Votre code : <b>482913</b></p><a href="https://example.fr/a?b=1&amp;c=2">Ouvrir</a>',
                         subtype="html")
    with smtplib.SMTP("127.0.0.1", smtp_server, timeout=5) as client:
        client.send_message(mail, to_addrs=["Destinataire@Example.fr", "copie@example.fr"])
    [stored] = wait_for_mail(app, "destinataire@example.fr")
    assert stored.channel == "email"
    assert stored.sender == "Autre programme <robot@example.fr>"
    assert stored.subject == "Réinitialisation — votre code"
    assert "482913" in stored.body_text and "<b>482913</b>" in stored.body_html
    assert stored.links == ["https://example.fr/a?b=1&c=2"]
    assert stored.code == "482913"
    wait_for_mail(app, "copie@example.fr")
    page = browser.get("/_emulator/mailbox/?to=destinataire@example.fr")
    assert [i["data-to"] for i in page.testids("message")] == ["destinataire@example.fr"]


def test_plain_text_mail_over_smtp_keeps_its_links(app, smtp_server):
    with smtplib.SMTP("127.0.0.1", smtp_server, timeout=5) as client:
        client.sendmail("a@example.fr", ["texte@example.fr"],
                        "Subject: Lien\r\nFrom: a@example.fr\r\n\r\nCliquez https://example.fr/lien pour continuer.\r\n")
    [stored] = wait_for_mail(app, "texte@example.fr")
    assert stored.body_html is None and stored.links == ["https://example.fr/lien"]
    assert stored.code is None


def test_smtp_start_on_a_taken_port_warns_and_returns_none(app, caplog):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert smtp.start(app, port=port) is None
    assert "already in use" in caplog.text


def test_smtp_starts_again_on_its_port_right_after_a_run_that_received_mail(app):
    """The connections the last run closed (TIME_WAIT on its port, for a minute) do not make the port "taken": the
    server binds with SO_REUSEADDR, so the check does too (`up` or the guide started again at once failed)."""
    port = free_port()
    controller = smtp.start(app, port=port)
    client = smtplib.SMTP("127.0.0.1", port, timeout=5)
    client.sendmail("a@example.fr", ["encore@example.fr"], "Subject: Encore\r\n\r\nTexte.\r\n")
    client.sock.sendall(b"QUIT\r\n")
    while client.sock.recv(1024):  # the server closes first: its side of the connection stays in TIME_WAIT
        pass
    client.close()
    wait_for_mail(app, "encore@example.fr")
    controller.stop()
    again = smtp.start(app, port=port)
    assert again is not None
    again.stop()


@pytest.mark.parametrize("flag, environ, expected", [
    (False, {}, True), (True, {}, False), (False, {"IDP_SMTP": "off"}, False), (False, {"IDP_SMTP": "0"}, False),
    (False, {"IDP_SMTP_PORT": "0"}, False), (False, {"IDP_SMTP": "on", "IDP_SMTP_PORT": "2525"}, True),
])
def test_smtp_can_be_disabled(flag, environ, expected):
    assert smtp.enabled(flag, environ) is expected


def test_serve_starts_the_smtp_server_of_the_mailbox(live_server):
    import requests

    with smtplib.SMTP("127.0.0.1", live_server.smtp_port, timeout=5) as client:
        client.sendmail("robot@example.fr", ["live@example.fr"],
                        "Subject: Depuis SMTP\r\nFrom: robot@example.fr\r\n\r\nBonjour.\r\n")
    response = requests.get(f"{live_server.base_url}/_emulator/mailbox?to=live@example.fr", timeout=5)
    assert response.status_code == 200 and 'data-to="live@example.fr"' in response.text
    assert "Depuis SMTP" in response.text


def test_serve_refuses_a_taken_smtp_port_in_one_line(tmp_path):
    """A taken SMTP port would send this server's mail to another mailbox: serve stops at once and says so."""
    from ..conftest import LiveServer

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = LiveServer(tmp_path / "taken", extra_env={"IDP_SMTP_PORT": str(port)})
        result = server.cli("serve", "--port", str(server.port))
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.splitlines() == [f"idp-emulator: port {port} on 127.0.0.1 is already in use "
                                          "(another idp-emulator?); choose another for SMTP with --smtp-port"]


def test_the_screens_mailbox_phone_and_presenter_share_one_head_and_marker(app, client):
    """Every layout extends _page.html: the same head and marker, each with its own stylesheet and data-screen."""
    with app.app_context():
        Setting.put("demo", True)
        db.session.commit()
    pages = {"/_emulator/mailbox": ("mailbox", "ms.css"), "/_emulator/phone/": ("phone-index", "phone.css"),
             "/_emulator/phone/sms.demo@example.fr": ("phone-home", "phone.css"),
             "/_emulator/present": ("emulator-present-choose", "present.css"), "/_emulator/": ("emulator-home", "ms.css")}
    for url, (screen, stylesheet) in pages.items():
        soup = BeautifulSoup(client.get(url).get_data(as_text=True), "html.parser")
        assert soup.body["data-screen"] == screen, url
        assert soup.find("meta", attrs={"name": "viewport"}) and soup.find("meta", attrs={"name": "robots"}), url
        assert soup.find("link", rel="stylesheet")["href"].endswith("/css/" + stylesheet), url
        marker = soup.find(attrs={"data-testid": "emulator-marker"})
        assert marker["role"] == "note" and marker.find(attrs={"data-testid": "demo-marker"}), url
    layouts = Path(__file__).resolve().parents[2] / "idp" / "templates"
    heads = sorted(str(p.relative_to(layouts)) for p in layouts.rglob("*.html") if "<head>" in p.read_text())
    # Besides _page.html, only documents of their own: the form_post page, the printed guide, the mails.
    assert heads == ["_page.html", "form_post.html", "graph/invitation_email.html", "guide/document.html",
                     "signup/email_verify_mail.html"], heads
